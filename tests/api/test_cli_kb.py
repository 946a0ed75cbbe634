"""`tierzero kb import` and `tierzero kb gaps`: the commands go through the same use cases as the API."""

import json

from api.cli import main

BIKE_CSV = "id,lang,title,body,questions\nbike-en,en,Bicycle repairs,We repair bicycles in store.,fix my bike\n"


def test_import_reports_a_dry_run_then_stores_and_says_which_files_it_refused(data_dir, monkeypatch, capsys):
    monkeypatch.setenv("TIERZERO_DATA_DIR", str(data_dir))
    folder = data_dir / "incoming"
    folder.mkdir()
    (folder / "bike.csv").write_text(BIKE_CSV, encoding="utf-8")
    assert main(["kb", "import", str(folder), "--dry-run"]) == 0
    assert "would create 1, would update 0, unchanged 0, files refused 0" in capsys.readouterr().out
    assert main(["kb", "import", str(folder)]) == 0
    assert "create 1, update 0" in capsys.readouterr().out
    assert main(["kb", "import", str(folder)]) == 0
    assert "create 0, update 0, unchanged 1" in capsys.readouterr().out

    (folder / "broken.json").write_text(json.dumps([{"id": "x-en", "lang": "en", "title": "", "body": "x"}]))
    assert main(["kb", "import", str(folder / "broken.json")]) == 1
    refused = capsys.readouterr().err
    assert "error: nothing imported: " in refused and "broken.json:1: field 'title'" in refused


def test_gaps_prints_the_report_as_the_api_returns_it(data_dir, monkeypatch, capsys):
    monkeypatch.setenv("TIERZERO_DATA_DIR", str(data_dir))
    assert main(["kb", "gaps", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["questions"] == 0 and report["clusters"] == [] and report["near_duplicates"] == []
    assert report["until"].endswith("Z") or report["until"].endswith("+00:00")
    assert main(["kb", "gaps", "--days", "0"]) == 2
