"""The CSV importer: layouts, encodings, keys and counts, on real and written files."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import pytest

from stackknack_cli.errors import InputError
from stackknack_cli.importers import (
    ImportPlan,
    ImportRecord,
    Key,
    Layout,
    Occurrence,
    SkipReason,
    handle_options_key,
    read_csv,
)
from stackknack_cli.importers.table import Source
from tests.conftest import shared_path

REAL = "realdata"


def read_all(
    source: Source,
    *,
    key: Key | None = None,
    location: str | None = None,
) -> tuple[list[ImportRecord], ImportPlan]:
    with read_csv(source, name="file.csv", key=key, location=location) as plan:
        records = list(plan)
    assert plan.summary.complete
    return records, plan


def write(tmp_path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    path = tmp_path / "file.csv"
    path.write_bytes(text.encode(encoding))
    return path


# Shopify's sample product CSVs


def test_jewelery_without_key_yields_nothing_and_counts_variants_without_sku() -> None:
    path = shared_path(REAL, "shopify-product-csvs", "jewelery.csv")

    records, plan = read_all(path)

    summary = plan.summary
    assert records == []
    assert summary.layout is Layout.SHOPIFY_PRODUCTS
    assert (summary.rows, summary.products, summary.variants) == (41, 20, 23)
    assert summary.skipped == {"no_sku": 23, "image_only": 18}
    assert len(summary.no_sku) == 23
    assert summary.no_sku[0].handle == "chain-bracelet"
    assert summary.no_sku[0].variant == "Blue"
    assert summary.untracked == 23


def test_jewelery_with_handle_options_key_yields_every_variant() -> None:
    path = shared_path(REAL, "shopify-product-csvs", "jewelery.csv")

    records, plan = read_all(path, key="handle-options")

    assert len(records) == 23
    assert plan.summary.skipped == {"image_only": 18}
    assert records[0] == ImportRecord(
        sku="chain-bracelet/Blue",
        quantity=1,
        title="7 Shakra Bracelet",
        row=2,
        variant="Blue",
        key_source="handle-options",
    )
    # The second variant's row has a blank Title; it takes the product's.
    assert records[1][:4] == ("chain-bracelet/Black", 0, "7 Shakra Bracelet", 3)
    assert "bangle-bracelet" in {record.sku for record in records}
    assert sum(record.quantity for record in records) == 20


def test_apparel_has_twenty_products_and_twenty_two_variants() -> None:
    path = shared_path(REAL, "shopify-product-csvs", "apparel.csv")

    records, plan = read_all(path, key="handle-options")

    summary = plan.summary
    assert (summary.rows, summary.products, summary.variants) == (22, 20, 22)
    assert len(records) == 22
    assert records[1].sku == "classic-varsity-top/Small"
    assert summary.skipped == {}


def test_home_and_garden_counts_the_one_tracked_variant() -> None:
    path = shared_path(REAL, "shopify-product-csvs", "home-and-garden.csv")

    records, plan = read_all(path, key="handle-options")

    summary = plan.summary
    assert (summary.rows, summary.products, summary.variants) == (21, 20, 21)
    assert summary.untracked == 20
    assert [record.sku for record in records[:3]] == [
        "clay-plant-pot/Regular",
        "clay-plant-pot/Large",
        "copper-light",
    ]
    assert sum(record.quantity for record in records) == 65


# A real store's exports (abhilasha12345, Dec 2023)


def test_abhilasha_product_export_2023_layout() -> None:
    path = shared_path(REAL, "shopify-export-abhilasha12345", "products_export_1.csv")

    records, plan = read_all(path)

    summary = plan.summary
    assert records == []
    assert (summary.rows, summary.products, summary.variants) == (115, 27, 95)
    assert summary.skipped == {"no_sku": 95, "image_only": 20}
    assert summary.untracked == 28


def test_abhilasha_product_export_keyed_by_handle_and_options() -> None:
    path = shared_path(REAL, "shopify-export-abhilasha12345", "products_export_1.csv")

    records, _ = read_all(path, key="handle-options")

    assert len(records) == 95
    assert len({record.sku for record in records}) == 95
    assert records[0].sku == "otti-combat-boot/Milky/35"
    assert records[0].variant == "Milky / 35"


def test_abhilasha_inventory_export_has_only_empty_skus() -> None:
    path = shared_path(REAL, "shopify-export-abhilasha12345", "inventory_export_1.csv")

    records, plan = read_all(path)

    summary = plan.summary
    assert records == []
    assert summary.layout is Layout.SHOPIFY_INVENTORY_2023
    assert summary.location == "Shop location"
    assert (summary.rows, summary.products, summary.variants) == (67, 7, 67)
    assert summary.skipped == {"no_sku": 67}


def test_abhilasha_inventory_export_reads_available_with_a_fallback_key() -> None:
    path = shared_path(REAL, "shopify-export-abhilasha12345", "inventory_export_1.csv")

    records, _ = read_all(path, key="handle-options")

    assert len(records) == 67
    assert records[0][:3] == ("puff-large/Latte", 103, "Puff Large")
    assert sum(record.quantity for record in records) == 7_021


# nsls-cogs-dashboard: 2024+ inventory export


def test_nsls_inventory_export_counts_every_kind_of_skip() -> None:
    path = shared_path(
        REAL, "shopify-export-nsls-cogs-dashboard", "inventory_export_1.csv"
    )

    records, plan = read_all(path)

    summary = plan.summary
    assert summary.layout is Layout.SHOPIFY_INVENTORY_2024
    assert summary.location == "Underground Sports Shop"
    assert (summary.rows, summary.products, summary.variants) == (1732, 424, 1732)
    assert summary.skipped == {"not_stocked": 194, "no_sku": 8, "duplicate_sku": 3}
    assert summary.records == len(records) == 1732 - 194 - 8 - 3
    assert [missing.row for missing in summary.no_sku] == [
        35, 50, 51, 138, 304, 308, 397, 398
    ]  # fmt: skip


def test_nsls_negative_available_is_clamped_to_zero_and_listed() -> None:
    path = shared_path(
        REAL, "shopify-export-nsls-cogs-dashboard", "inventory_export_1.csv"
    )

    records, plan = read_all(path)

    negative = plan.summary.negative
    assert len(negative) == 33
    assert min(note.quantity for note in negative) == -398
    # One negative row has no SKU, so 32 of them became records, all at 0.
    clamped = {note.row for note in negative}
    kept = [record for record in records if record.row in clamped]
    assert len(kept) == 32
    assert {record.quantity for record in kept} == {0}
    assert all(record.quantity >= 0 for record in records)


def test_nsls_duplicate_skus_keep_the_first_row() -> None:
    path = shared_path(
        REAL, "shopify-export-nsls-cogs-dashboard", "inventory_export_1.csv"
    )

    records, plan = read_all(path)

    duplicates = plan.summary.duplicate_skus
    assert duplicates == {
        "premium-medallion-graduation-set": [
            Occurrence(33, "premium-medallion-graduation-set", 0),
            Occurrence(202, "premium-medallion-graduation-set", 0),
        ],
        "premium-medallion-graduation-set-personalize": [
            Occurrence(34, "premium-medallion-graduation-set-personalize", 0),
            Occurrence(203, "premium-medallion-graduation-set-personalize", 0),
        ],
        "nj-ssom-l-s-b": [
            Occurrence(687, "nj-ssom-l-s-b", 0),
            Occurrence(1239, "nj-ssom-l-s-b", 0),
        ],
    }
    assert len({record.sku for record in records}) == len(records)


# rsinventory: the trimmed SKU,<location>,location layout


def test_rsinventory_trimmed_layout_counts() -> None:
    path = shared_path(REAL, "shopify-export-rsinventory", "inventory_export_1.csv")

    records, plan = read_all(path)

    summary = plan.summary
    assert summary.layout is Layout.SHOPIFY_INVENTORY_TRIMMED
    assert summary.location == "Rangsutra Online"
    assert (summary.rows, summary.products, summary.variants) == (951, None, 951)
    assert summary.skipped == {"no_sku": 3, "duplicate_sku": 8}
    assert len(records) == 940
    assert len(summary.negative) == 7
    assert sorted(note.quantity for note in summary.negative) == [
        -4, -2, -2, -1, -1, -1, -1
    ]  # fmt: skip


def test_rsinventory_duplicates_are_six_skus_on_fourteen_rows() -> None:
    path = shared_path(REAL, "shopify-export-rsinventory", "inventory_export_1.csv")

    records, plan = read_all(path)

    duplicates = plan.summary.duplicate_skus
    assert len(duplicates) == 6
    assert sum(len(rows) for rows in duplicates.values()) == 14
    kurta = duplicates["BTC/03/18/WI/ALINE KURTA/04/MIRROR/NT"]
    assert [note.row for note in kurta] == [772, 773, 774, 775]
    # The two rows disagree; the first one's quantity is the one imported.
    mask = "EWD/07/20/GA/PRINTED MASK/02/AS/FS"
    assert [note.quantity for note in duplicates[mask]] == [4, 3]
    assert next(record for record in records if record.sku == mask).quantity == 4


def test_rsinventory_skus_keep_quotes_spaces_and_symbols() -> None:
    path = shared_path(REAL, "shopify-export-rsinventory", "inventory_export_1.csv")

    records, _ = read_all(path)

    skus = {record.sku: record.quantity for record in records}
    assert skus['"BTC 03/18/GA/BLOUSE PC/03/HAND EMB/BG&RU "'] == 1
    assert skus['"BTC 03/18/GA/BLOUSE PC/04/HAND EMB/BG&RD'] == 5
    assert "WW-103-AADHYA DRESS TIE & DYE/TQ/XL" in skus
    hashed = "WI#KURTA LONG COTTON EXTRA WEFT A-LINE ROUND NECK 3Q YOKE DETAIL/TQ-XL"
    assert hashed in skus


# prijsgarantienl: trimmed product export with apostrophe-protected barcodes


def test_prijsgarantie_strips_apostrophes_from_barcodes() -> None:
    path = shared_path(REAL, "shopify-export-prijsgarantienl", "products_export_1.csv")

    records, plan = read_all(path)

    summary = plan.summary
    assert (summary.rows, summary.products, summary.variants) == (814, 814, 814)
    assert summary.apostrophes_stripped == 740
    assert summary.untracked == 757
    assert summary.skipped == {"no_sku": 1}
    assert summary.no_sku[0].row == 761
    assert len(records) == 813
    assert records[0].barcode == "8720602828605"
    assert not any(record.barcode.startswith("'") for record in records)
    assert "8720602863248-01" in {record.barcode for record in records}


def test_prijsgarantie_barcode_key_cannot_help_a_row_without_barcode() -> None:
    path = shared_path(REAL, "shopify-export-prijsgarantienl", "products_export_1.csv")

    records, plan = read_all(path, key="barcode")

    assert len(records) == 813
    assert plan.summary.skipped == {"no_sku": 1}


def test_real_file_of_another_kind_is_refused() -> None:
    parts, columns = ("shopify-export-prijsgarantienl", "inventory_mapping.csv"), "SKU"
    path = shared_path(REAL, *parts)

    with pytest.raises(InputError, match="unrecognised columns") as caught:
        read_csv(path, name=parts[1])

    assert str(caught.value).startswith(f"{parts[1]}: unrecognised columns (")
    assert columns in str(caught.value)


# Encodings and delimiters


def test_utf8_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffsku,quantity\r\nA-1,4\r\n")

    records, plan = read_all(path)

    assert plan.summary.layout is Layout.PLAIN
    assert plan.summary.encoding == "utf-8-sig"
    assert records == [ImportRecord("A-1", 4, "", 2)]


def test_windows_1252_file_is_decoded_whole(tmp_path: Path) -> None:
    path = write(tmp_path, "sku,quantity,title\nC1,2,Café crème\n", encoding="cp1252")

    records, plan = read_all(path)

    assert plan.summary.encoding == "cp1252"
    assert records[0].title == "Café crème"


def test_utf8_without_bom_keeps_accents(tmp_path: Path) -> None:
    path = write(tmp_path, "sku,quantity,title\nC1,2,Café – crème\n")

    records, plan = read_all(path)

    assert plan.summary.encoding == "utf-8-sig"
    assert records[0].title == "Café – crème"


def test_semicolon_delimiter_is_taken_from_the_header(tmp_path: Path) -> None:
    path = write(tmp_path, "SKU;Quantity;Title\n0017;3;Bol, groot\n90.750;1;Mok\n")

    records, plan = read_all(path)

    assert plan.summary.delimiter == ";"
    assert records == [
        ImportRecord("0017", 3, "Bol, groot", 2),
        ImportRecord("90.750", 1, "Mok", 3),
    ]


def test_byte_neither_utf8_nor_windows_1252_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "file.csv"
    path.write_bytes(b"sku,quantity,title\nA,1,caf\xe9 \x81\n")

    # A small file is decoded as its header is read, a large one row by row.
    with pytest.raises(InputError) as caught, read_csv(path, name="file.csv") as plan:
        list(plan)

    assert "byte 0x81 is neither UTF-8 nor Windows-1252" in str(caught.value)


def test_utf16_file_is_refused_with_advice(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffsku,quantity\nA,1\n", encoding="utf-16-le")

    with pytest.raises(InputError, match="file.csv is UTF-16 text; save it as CSV"):
        read_csv(path, name="file.csv")


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "")

    with pytest.raises(InputError, match="file.csv is empty"):
        read_csv(path, name="file.csv")


# Cells stay text


def test_product_export_keeps_leading_zeros_and_decimal_looking_skus(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "Handle,Title,Option1 Value,Variant SKU,Variant Inventory Qty,Variant Barcode\n"
        "mug,Mug,Default Title,0017,5,'0012345678905\n"
        "cup,Cup,Small,90.750,+ 2 ,\n",
    )

    records, _ = read_all(path)

    assert [(record.sku, record.quantity) for record in records] == [
        ("0017", 5),
        ("90.750", 2),
    ]
    assert records[0].barcode == "0012345678905"


def test_sku_in_scientific_notation_is_refused_with_its_row(tmp_path: Path) -> None:
    rows = "".join(f"S{n},1\n" for n in range(10))
    path = write(tmp_path, f"sku,quantity\n{rows}6.93217E+12,1\n")

    with read_csv(path, name="file.csv") as plan, pytest.raises(InputError) as caught:
        list(plan)

    assert str(caught.value) == (
        "file.csv row 12: SKU '6.93217E+12' looks like a number a spreadsheet "
        "rewrote; export it as text"
    )


def test_barcode_in_scientific_notation_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Handle,Variant SKU,Variant Inventory Qty,Variant Barcode\n"
        "mug,M1,1,8.72060E+12\n",
    )

    with (
        read_csv(path, name="file.csv") as plan,
        pytest.raises(InputError, match=r"row 2: barcode '8.72060E\+12' looks like"),
    ):
        list(plan)


def test_quantity_in_scientific_notation_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "sku,quantity\nA,1E+03\n")

    with (
        read_csv(path, name="file.csv") as plan,
        pytest.raises(InputError, match=r"row 2: quantity '1E\+03' looks like"),
    ):
        list(plan)


def test_sku_that_merely_contains_an_e_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "sku,quantity\n12E4,1\n1e5x,2\n")

    records, _ = read_all(path)

    assert [record.sku for record in records] == ["12E4", "1e5x"]


def test_non_numeric_quantity_is_refused_with_row_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Handle,Title,SKU,Location,Incoming,Unavailable,Committed,Available,On hand\n"
        "mug,Mug,M1,Shop,0,0,0,4,4\n"
        "cup,Cup,C1,Shop,0,0,0,lots,4\n",
    )

    with read_csv(path, name="file.csv") as plan, pytest.raises(InputError) as caught:
        list(plan)

    assert str(caught.value) == "file.csv row 3: Available 'lots' is not a whole number"


@pytest.mark.parametrize("text", ["1.5", "1,000", "1_000", "٣", "--1"])
def test_quantities_that_are_not_whole_numbers_are_refused(
    tmp_path: Path, text: str
) -> None:
    path = write(tmp_path, f'sku,quantity\nA,"{text}"\n')

    with (
        read_csv(path, name="file.csv") as plan,
        pytest.raises(InputError, match="row 2: quantity .* is not a whole number"),
    ):
        list(plan)


def test_quantity_signs_spaces_blanks_and_not_stocked(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sku,quantity\nA,+3\nB, 7 \nC,-2\nD,\nE,Not stocked\n",
    )

    records, plan = read_all(path)

    summary = plan.summary
    assert [(record.sku, record.quantity) for record in records] == [
        ("A", 3),
        ("B", 7),
        ("C", 0),
    ]
    assert summary.negative == [Occurrence(4, "C", -2)]
    assert summary.skipped == {"no_quantity": 1, "not_stocked": 1}


# Header recognition


def test_unknown_header_is_refused_naming_file_and_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "code,stock\nA,1\n")

    with pytest.raises(InputError) as caught:
        read_csv(path, name="stock.csv")

    assert str(caught.value).startswith(
        "stock.csv: unrecognised columns (code, stock); expected"
    )


def test_header_names_are_matched_whatever_their_case_and_spacing(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        " handle ,TITLE,Variant  SKU,variant inventory QTY\nmug,Mug,M1,3\n",
    )

    records, plan = read_all(path)

    assert plan.layout is Layout.SHOPIFY_PRODUCTS
    assert records == [ImportRecord("M1", 3, "Mug", 2)]


def test_product_export_without_inventory_quantity_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "Handle,Title,Variant SKU,Variant Price\nmug,Mug,M1,9\n")

    with pytest.raises(InputError, match="no 'Variant Inventory Qty' column"):
        read_csv(path, name="file.csv")


def test_row_with_more_filled_cells_than_the_header_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "sku,quantity,title\nA,1,Bowl\nB,2,Bowl, large\n")

    with read_csv(path, name="file.csv") as plan, pytest.raises(InputError) as caught:
        list(plan)

    assert str(caught.value).startswith(
        "file.csv row 3 has 4 cells but the header has 3"
    )


def test_short_rows_and_blank_lines_are_tolerated(tmp_path: Path) -> None:
    path = write(tmp_path, "sku,quantity,title\nA,1\n\nB,2,Bowl,\n")

    records, plan = read_all(path)

    assert records == [ImportRecord("A", 1, "", 2), ImportRecord("B", 2, "Bowl", 4)]
    assert plan.summary.rows == 2


# Locations


INVENTORY_2023 = (
    "Handle,Title,Option1 Name,Option1 Value,SKU,Location,"
    "Incoming,Unavailable,Committed,Available,On hand\n"
    "mug,Mug,Title,Default Title,M1,Shop,0,0,0,4,4\n"
    "mug,Mug,Title,Default Title,M1,Warehouse,0,0,0,9,9\n"
    "cup,Cup,Size,Small,C1,Shop,0,0,0,not stocked,not stocked\n"
    "cup,Cup,Size,Small,C1,Warehouse,0,0,0,2,2\n"
    "cup,Cup,Size,Large,C2,Pop-up,0,0,0,1,1\n"
)


def test_several_locations_without_a_choice_are_listed(tmp_path: Path) -> None:
    path = write(tmp_path, INVENTORY_2023)

    with read_csv(path, name="file.csv") as plan, pytest.raises(InputError) as caught:
        list(plan)

    assert str(caught.value) == (
        "file.csv holds 3 locations (Shop, Warehouse, Pop-up); pick one with --location"
    )


def test_chosen_location_is_read_and_others_are_counted(tmp_path: Path) -> None:
    path = write(tmp_path, INVENTORY_2023)

    records, plan = read_all(path, location=" warehouse")

    assert [(record.sku, record.quantity) for record in records] == [
        ("M1", 9),
        ("C1", 2),
    ]
    assert plan.summary.location == "Warehouse"
    assert plan.summary.variants == 2
    assert plan.summary.skipped == {"other_location": 3}
    assert plan.summary.products == 2


def test_location_that_no_row_has_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, INVENTORY_2023)

    with (
        read_csv(path, name="file.csv", location="Attic") as plan,
        pytest.raises(InputError, match="no location 'Attic'; the file has: Shop"),
    ):
        list(plan)


def test_trimmed_layout_picks_a_location_column(tmp_path: Path) -> None:
    path = write(tmp_path, "SKU,Main Store,Outlet,location\nA,3,5,main\n")

    with pytest.raises(InputError, match=r"holds 2 locations \(Main Store, Outlet\)"):
        read_csv(path, name="file.csv")
    records, plan = read_all(path, location="outlet")

    assert records == [ImportRecord("A", 5, "", 2)]
    assert plan.summary.location == "Outlet"


def test_location_for_a_product_export_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "Handle,Variant SKU,Variant Inventory Qty\nmug,M1,1\n")

    with pytest.raises(InputError, match="without locations"):
        read_csv(path, name="file.csv", location="Shop")


def test_on_hand_new_replaces_available_minus_what_is_held(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Handle,SKU,Location,Bin name,Incoming (not editable),"
        "Unavailable (not editable),Committed (not editable),"
        "Available (not editable),On hand (current),On hand (new)\n"
        "mug,M1,Shop,,0,1,2,5,8,\n"
        "cup,C1,Shop,,0,1,2,5,8,20\n"
        "pot,P1,Shop,,not stocked,not stocked,not stocked,not stocked,not stocked,6\n",
    )

    records, plan = read_all(path)

    assert plan.layout is Layout.SHOPIFY_INVENTORY_2024
    assert [(record.sku, record.quantity) for record in records] == [
        ("M1", 5),
        ("C1", 17),
        ("P1", 6),
    ]


# Keys and duplicates


PRODUCTS = (
    "Handle,Title,Option1 Name,Option1 Value,Option2 Name,Option2 Value,"
    "Variant SKU,Variant Inventory Qty,Variant Price,Variant Barcode,Image Src\n"
    "tee,Tee,Size,S,Color,Red,,3,10,'4006381333931,a.jpg\n"
    "tee,,,M,,Red,TEE-M,4,10,,b.jpg\n"
    "tee,,,,,,,,,,c.jpg\n"
    "mug,Mug,Title,Default Title,,,,6,5,,\n"
)


def test_handle_options_key_joins_the_filled_option_values(tmp_path: Path) -> None:
    path = write(tmp_path, PRODUCTS)

    records, plan = read_all(path, key="handle-options")

    assert [(record.sku, record.key_source) for record in records] == [
        ("tee/S/Red", "handle-options"),
        ("TEE-M", "sku"),
        ("mug", "handle-options"),
    ]
    assert records[1].title == "Tee"
    assert plan.summary.skipped == {"image_only": 1}


def test_barcode_key_uses_the_barcode_without_its_apostrophe(tmp_path: Path) -> None:
    path = write(tmp_path, PRODUCTS)

    records, plan = read_all(path, key="barcode")

    assert [record.sku for record in records] == ["4006381333931", "TEE-M"]
    assert [missing.handle for missing in plan.summary.no_sku] == ["mug"]


def test_key_the_layout_cannot_build_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "sku,quantity\nA,1\n")

    with pytest.raises(InputError, match="no Handle column"):
        read_csv(path, name="file.csv", key="handle-options")
    with pytest.raises(InputError, match="no barcode column"):
        read_csv(path, name="file.csv", key="barcode")
    with pytest.raises(InputError, match="unknown key 'title'"):
        read_csv(path, name="file.csv", key="title")  # type: ignore[arg-type]


def test_handle_options_key_for_a_default_variant_is_the_handle() -> None:
    assert handle_options_key("mug", ("Default Title", "", "")) == "mug"
    assert handle_options_key("tee", ("S", "", "Red")) == "tee/S/Red"
    assert handle_options_key("", ("S",)) == ""


def test_duplicate_sku_keeps_the_first_row_and_reports_all(tmp_path: Path) -> None:
    path = write(tmp_path, "sku,quantity\nA,1\nB,2\nA,5\nA,0\n")

    records, plan = read_all(path)

    assert [(record.sku, record.quantity) for record in records] == [("A", 1), ("B", 2)]
    assert plan.summary.skipped == {SkipReason.DUPLICATE_SKU: 2}
    assert plan.summary.duplicate_skus == {
        "A": [Occurrence(2, "A", 1), Occurrence(4, "A", 5), Occurrence(5, "A", 0)]
    }


# Streams, progress and memory


def test_stream_input_is_read_and_left_open() -> None:
    stream = io.BytesIO(b"sku,quantity\n0017,2\n")

    records, _ = read_all(stream)

    assert records == [ImportRecord("0017", 2, "", 2)]
    assert not stream.closed


class Pipe(io.RawIOBase):
    """A byte stream that cannot seek, like stdin fed by a pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        return self._data.readinto(buffer)


def test_unseekable_stream_is_spooled_and_decoded_whole() -> None:
    pipe = Pipe("sku;quantity;title\nA;1;Crème\n".encode("cp1252"))

    records, plan = read_all(pipe)

    assert records == [ImportRecord("A", 1, "Crème", 2)]
    assert plan.summary.encoding == "cp1252"
    assert not pipe.closed


def test_plan_reports_progress_and_can_be_read_only_once(tmp_path: Path) -> None:
    rows = "".join(f"S{n},{n}\n" for n in range(2500))
    path = write(tmp_path, f"sku,quantity\n{rows}")
    calls: list[tuple[int, int]] = []

    with read_csv(path, progress=lambda rows, done: calls.append((rows, done))) as plan:
        records = list(plan)
        with pytest.raises(RuntimeError, match="only once"):
            iter(plan)

    assert len(records) == 2500
    assert [rows for rows, _ in calls] == [1000, 2000, 2500]
    assert calls[-1][1] == plan.size == path.stat().st_size


def test_large_file_is_streamed_without_holding_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    title = "x" * 500
    with path.open("w", encoding="utf-8") as out:
        out.write("sku,quantity,title\n")
        for n in range(20_000):
            out.write(f"SKU-{n},{n % 7},{title}\n")
    count = 0

    tracemalloc.start()
    try:
        with read_csv(path) as plan:
            for _ in plan:
                count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == 20_000
    # The file is 10 MB; only the SKUs seen (for duplicate checks) are kept.
    assert peak < 4_000_000
