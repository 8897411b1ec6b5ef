"""chapters_src.gan.experiments: the comparison table of notebook 20 copes with models not (yet) measured."""
import dataclasses
import json

from chapters_src.gan import experiments as ge
from chapters_src.gan import settings as gs


def _row(kind, settings):
    return {"model": ge.NAMES[kind], "kind": kind, "epochs": settings.epochs, "frechet_distance": 12.5,
            "real_vs_real": 2.0, "noise_vs_real": 170.0, "seconds_per_epoch": 1.5, "frechet_history": [None, 12.5],
            "settings": dataclasses.asdict(settings)}


def test_missing_unreadable_and_stale_quality_files_are_reported_not_dropped(tmp_path):
    expected = {kind: profile_set.get("standard") for kind, profile_set in gs.BY_KIND.items()}
    for kind in ("vanilla", "cgan", "infogan"):
        (tmp_path / kind).mkdir()
    ge._write_atomically(tmp_path / "vanilla" / ge.QUALITY_FILENAME, json.dumps(_row("vanilla", expected["vanilla"])))
    (tmp_path / "cgan" / ge.QUALITY_FILENAME).write_text('{"model": "condit')            # being written / broken
    stale = dataclasses.replace(expected["infogan"], epochs=3)
    ge._write_atomically(tmp_path / "infogan" / ge.QUALITY_FILENAME, json.dumps(_row("infogan", stale)))
    assert sorted(p.name for p in (tmp_path / "vanilla").iterdir()) == [ge.QUALITY_FILENAME]  # no temporary left
    rows, missing = ge.load_quality_rows(tmp_path, expected_settings=expected)
    assert [row["kind"] for row in rows] == ["vanilla"]
    assert list(missing) == ["dcgan", "cgan", "infogan"]
    assert "run the DCGAN notebook" in missing["dcgan"]
    assert "could not be read" in missing["cgan"]
    assert "other settings" in missing["infogan"]
    table = ge.quality_table(rows, missing)
    assert table.count("not measured") == 3 and "| vanilla GAN | 40 | 12.5 |" not in table
    assert f"| vanilla GAN | {expected['vanilla'].epochs} | 12.5 |" in table
    # Without expected settings the stale row counts (the file itself is fine).
    rows, missing = ge.load_quality_rows(tmp_path)
    assert [row["kind"] for row in rows] == ["vanilla", "infogan"] and list(missing) == ["dcgan", "cgan"]
