"""The CSV importer on eBay's active-listings download, real and written."""

from __future__ import annotations

from pathlib import Path

from stackknack_cli.importers import Layout, Occurrence, SkipReason, read_csv
from tests.conftest import shared_path

HEADER = (
    "Item ID,Custom Label,Product ID Type,Product ID Value,Product ID Value 2,"
    "Quantity Available,Purchases,Bids,Price,Start Date,End Date,Condition,Type,"
    "Item Title,Category Leaf Name,Category Number,Private Notes,Site Listed,"
    "Download Date,Variation Details,Product Reference ID,Condition ID,"
    "OutOfStockControl\n"
)


def row(item_id: str, label: str, quantity: str, title: str) -> str:
    return f"{item_id},{label},,,,{quantity},0,,$1.00,May-24-11,,New,9,{title}" + (
        ",Cat,1,,0,Apr-23-20 22:19:51 PDT,,,1000,false\n"
    )


def test_real_download_reports_blank_and_shared_custom_labels() -> None:
    path = shared_path("realdata", "ebay-seller-listings-download", "listings.csv")

    with read_csv(path) as plan:
        records = list(plan)

    summary = plan.summary
    assert summary.layout is Layout.EBAY_LISTINGS
    assert summary.rows == 4791
    # 250 labels are each shared by two listings: all 500 rows wait for a decision.
    assert summary.skipped == {
        SkipReason.NO_CUSTOM_LABEL: 781,
        SkipReason.SHARED_CUSTOM_LABEL: 500,
    }
    assert len(summary.no_sku) == 781
    assert summary.no_sku[0].handle == "400495627055"
    assert len(summary.duplicate_skus) == 250
    assert all(len(rows) == 2 for rows in summary.duplicate_skus.values())
    assert summary.duplicate_skus["1031N"] == [
        Occurrence(16, "1031N", 500),
        Occurrence(111, "1031N", 5),
    ]
    assert len(records) == 3510
    assert summary.records == 3510
    assert "1031N" not in {record.sku for record in records}


def test_shared_label_quantities_are_never_added_together(tmp_path: Path) -> None:
    path = tmp_path / "listings.csv"
    path.write_text(
        HEADER
        + row("1", "A-1", "4", "Shoe")
        + row("2", "A-1", "6", "Shoe again")
        + row("3", "", "2", "No label"),
        encoding="utf-8",
    )

    with read_csv(path) as plan:
        records = list(plan)

    assert records == []
    assert plan.summary.duplicate_skus["A-1"] == [
        Occurrence(2, "A-1", 4),
        Occurrence(3, "A-1", 6),
    ]
    assert plan.summary.no_sku[0].title == "No label"


def test_blank_custom_labels_have_their_own_skip_reason(tmp_path: Path) -> None:
    path = tmp_path / "listings.csv"
    path.write_text(HEADER + row("3", "", "2", "No label"), encoding="utf-8")

    with read_csv(path) as plan:
        list(plan)

    assert plan.summary.skipped == {SkipReason.NO_CUSTOM_LABEL: 1}


def test_cli_warns_about_shared_and_blank_labels_in_ebay_terms(
    cli, tmp_path: Path
) -> None:
    path = tmp_path / "listings.csv"
    path.write_text(
        HEADER
        + row("1", "A-1", "4", "Shoe")
        + row("2", "A-1", "6", "Shoe again")
        + row("333333333333", "", "2", "No label")
        + row("4", "B-2", "1", "Boot"),
        encoding="utf-8",
    )
    result = cli("import", "csv", str(path))
    assert result.code == 0
    assert "Custom Labels are shared by several listings and were not imported" in (
        result.err
    )
    assert "no Custom Label" in result.err
    assert "333333333333" in result.err
    assert "first row kept" not in result.err
