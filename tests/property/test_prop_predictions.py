"""Mutated WIDER prediction files (``eval --pred``): a result or a LabelFormatError naming the file."""
from __future__ import annotations

import numpy as np
from hypothesis import given
from property_helpers import SETTINGS, mutated, reads_or_refuses

from training.wider_eval import read_prediction_dir, read_prediction_file

PREDICTION = b"0_a\n3\n10 10 20 20 0.9\n30 30 0 20 1.5\n5 5 5 5 0.000001\n"


@SETTINGS
@given(data=mutated(PREDICTION))
def test_mutated_prediction_file(tmp_path_factory, data):
    folder = tmp_path_factory.getbasetemp() / "predictions" / "0--Parade"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "0_a.txt"
    path.write_bytes(data)
    rows = reads_or_refuses(read_prediction_file, path)
    if rows is not None:
        assert rows.shape[1:] == (5,) and np.isfinite(rows).all()
        assert (rows[:, 2:] >= 0).all()
        preds = reads_or_refuses(lambda p: read_prediction_dir(p.parent.parent, ["0--Parade/0_a"]), path)
        assert preds is not None and np.array_equal(preds["0--Parade/0_a"], rows)
