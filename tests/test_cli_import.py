from __future__ import annotations

from pathlib import Path

import pytest

from stackknack_cli.sandbox.runtime import CATALOG
from tests.conftest import shared_path


def test_shipped_catalogue_imports_with_exact_counts(cli) -> None:
    result = cli("import", "csv", str(CATALOG), "--json")
    assert result.code == 0, result.err
    summary = result.json()
    assert (summary["products"], summary["variants"], summary["written"]) == (8, 33, 33)
    assert summary["skipped"] == {"image_only": 8}

    stock = cli("stock", "DZ5485-612-9.5", "--json").json()
    assert stock[0]["available"] == 2
    assert stock[0]["title"].endswith("/ US 9.5")


def test_jewelery_sample_has_no_skus_so_nothing_is_written_without_a_key(cli) -> None:
    path = shared_path("realdata", "shopify-product-csvs", "jewelery.csv")
    plain = cli("import", "csv", str(path), "--json").json()
    assert (plain["products"], plain["variants"], plain["written"]) == (20, 23, 0)
    assert plain["skipped"] == {"image_only": 18, "no_sku": 23}

    keyed = cli("import", "csv", str(path), "--key", "handle-options", "--json").json()
    assert keyed["written"] == 23


@pytest.mark.parametrize(
    ("parts", "written", "skipped"),
    [
        (
            ("shopify-export-nsls-cogs-dashboard", "inventory_export_1.csv"),
            1527,
            {"duplicate_sku": 3, "no_sku": 8, "not_stocked": 194},
        ),
        (
            ("shopify-export-rsinventory", "inventory_export_1.csv"),
            940,
            {"duplicate_sku": 8, "no_sku": 3},
        ),
        (
            ("shopify-export-prijsgarantienl", "products_export_1.csv"),
            813,
            {"no_sku": 1},
        ),
        (
            ("shopify-export-abhilasha12345", "inventory_export_1.csv"),
            0,
            {"no_sku": 67},
        ),
    ],
)
def test_real_shopify_exports_import_with_exact_counts(cli, parts, written, skipped):
    path = shared_path("realdata", *parts)
    summary = cli("import", "csv", str(path), "--json").json()
    assert summary["written"] == written
    assert summary["skipped"] == skipped
    count = cli("stock", "--json").json()
    assert len(count) == written


def test_bad_row_exits_non_zero_with_one_line_and_writes_nothing(cli, tmp_path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("sku,quantity\nA,5\n")
    assert cli("import", "csv", str(good)).code == 0

    bad = tmp_path / "bad.csv"
    bad.write_text("sku,quantity\nA,1\nB,2\nC,6.93217E+12\n")
    result = cli("import", "csv", str(bad))

    assert result.code == 1
    assert result.err.strip().count("\n") == 0
    assert "bad.csv row 4" in result.err
    assert "Traceback" not in result.err
    stock = cli("stock", "--json").json()
    assert [(row["sku"], row["available"]) for row in stock] == [("A", 5)]


def test_unknown_header_is_refused_naming_the_file(cli, tmp_path) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("name,colour\nshoe,red\n")
    result = cli("import", "csv", str(odd))
    assert result.code == 1
    assert "odd.csv" in result.err


def test_rows_without_a_quantity_are_named_by_row(cli, tmp_path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("sku,quantity\nA1,2\nA2\nA3,\nA4,1\n")

    text = cli("import", "csv", str(path), "--dry-run")
    shape = cli("import", "csv", str(path), "--dry-run", "--json").json()

    assert "2 rows have no quantity and were skipped (row 3, 4)" in text.err
    assert shape["no_quantity_rows"] == [3, 4]


def test_a_device_is_not_taken_for_a_missing_file(cli) -> None:
    result = cli("import", "csv", "/dev/null")

    assert result.code == 1
    assert "not a regular file" in result.err


def test_dry_run_reports_but_writes_nothing(cli, tmp_path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("sku,quantity,title\n0017,3,Socks\n90.750,1,Laces\n")
    dry = cli("import", "csv", str(path), "--dry-run", "--json").json()
    assert (dry["dry_run"], dry["written"]) == (True, 2)
    assert cli("stock", "--json").json() == []


def test_stdin_import_keeps_skus_as_text(cli) -> None:
    result = cli(
        "import", "csv", "-", "--json", stdin="sku;quantity\n0017;3\n90.750;1\n"
    )
    assert result.code == 0, result.err
    skus = [row["sku"] for row in cli("stock", "--json").json()]
    assert skus == ["0017", "90.750"]


def test_windows_1252_file_with_bom_free_accents_imports(cli, tmp_path) -> None:
    path = tmp_path / "w.csv"
    path.write_bytes("sku,quantity,title\nX1,2,Caf\xe9 shoe\n".encode("cp1252"))
    assert cli("import", "csv", str(path)).code == 0
    assert cli("stock", "X1", "--json").json()[0]["title"] == "Café shoe"


def test_stock_for_unknown_sku_is_an_error(cli, tmp_path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("sku,quantity\nA,1\n")
    cli("import", "csv", str(path))
    result = cli("stock", "NOPE")
    assert result.code == 1
    assert "unknown SKU 'NOPE'" in result.err


def test_db_option_and_env_pick_the_database(cli, tmp_path, monkeypatch) -> None:
    path = tmp_path / "s.csv"
    path.write_text("sku,quantity\nA,1\n")
    chosen = tmp_path / "elsewhere" / "inv.db"
    assert cli("--db", str(chosen), "import", "csv", str(path)).code == 0
    assert chosen.exists()
    monkeypatch.setenv("STACKKNACK_DB", str(chosen))
    assert [r["sku"] for r in cli("stock", "--json").json()] == ["A"]


def test_home_override_holds_the_default_database(cli, tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("sku,quantity\nA,1\n")
    cli("import", "csv", str(path))
    assert (tmp_path / "home" / "stackknack.db").exists()


def test_unclosed_quote_is_refused_not_swallowing_the_rest(cli, tmp_path) -> None:
    path = tmp_path / "unclosed.csv"
    rows = "".join(f"S{n},{n}\n" for n in range(1, 6))
    path.write_text("sku,quantity\n" + rows + '"S6,6\n' + "S7,7\nS8,8\n")
    result = cli("import", "csv", str(path))
    assert result.code == 1
    assert "unclosed.csv" in result.err
    assert cli("stock", "--json").json() == []


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("A,99999999999999999999999", "beyond 10,000,000 units"),
        ('"A\nB",1', "control character"),
        ("A" * 300 + ",1", "most a SKU may have is 255"),
    ],
)
def test_absurd_cells_are_refused_with_their_row(cli, tmp_path, cell, message) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("sku,quantity\nOK,1\n" + cell + "\n")
    result = cli("import", "csv", str(path))
    assert result.code == 1
    assert "odd.csv row 3" in result.err
    assert message in result.err
    assert "Traceback" not in result.err
    assert cli("stock", "--json").json() == []


def test_spaces_around_a_sku_do_not_make_a_second_sku(cli, tmp_path) -> None:
    path = tmp_path / "spaces.csv"
    path.write_text('sku,quantity\n"  A ",1\nA,2\n')
    summary = cli("import", "csv", str(path), "--json").json()
    assert summary["duplicate_skus"] == ["A"]
    assert [row["sku"] for row in cli("stock", "--json").json()] == ["A"]


def test_reports_refuse_a_database_that_does_not_exist(cli, tmp_path) -> None:
    typo = tmp_path / "no" / "such.db"
    result = cli("--db", str(typo), "stock")
    assert result.code == 1
    assert f"no database at {typo}" in result.err
    assert not typo.parent.exists()


def test_reports_leave_another_programs_database_alone(cli, tmp_path) -> None:
    import sqlite3

    other = tmp_path / "other-app.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.commit()
    conn.close()

    csv = tmp_path / "a.csv"
    csv.write_text("sku,quantity\nA1,2\n")
    results = [
        cli("--db", str(other), *args)
        for args in (("stock", "--json"), ("doctor",), ("import", "csv", str(csv)))
    ]

    assert [r.code for r in results] == [1, 1, 1]
    assert all("holds another program's tables" in r.err for r in results)
    tables = sqlite3.connect(other).execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("notes",)]


def test_damaged_database_is_named_damaged_by_every_command(cli, tmp_path) -> None:
    csv = tmp_path / "a.csv"
    csv.write_text("sku,quantity\n" + "".join(f"S{n},{n}\n" for n in range(3000)))
    path = tmp_path / "w.db"
    assert cli("--db", str(path), "import", "csv", str(csv)).code == 0
    with open(path, "r+b") as damaged:
        damaged.seek(4096 * 2)
        damaged.write(bytes(range(256)) * 32)

    results = [
        cli("--db", str(path), *args)
        for args in (("doctor",), ("stock",), ("adjust", "S1", "+1", "--reason", "x"))
    ]

    assert [r.code for r in results] == [1, 1, 1]
    assert all("restore a backup" in r.err for r in results)
    assert all("Traceback" not in r.err for r in results)
