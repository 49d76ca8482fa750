import torch

from core.anchors import anchor_grid, cell_anchors, grid_anchors
from core.config import ssh_levels

# py-faster-rcnn generate_anchors(base_size=16, ratios=[1], scales=...) for the three SSH modules
REFERENCE = {
    "m1": [[0, 0, 15, 15], [-8, -8, 23, 23]],
    "m2": [[-24, -24, 39, 39], [-56, -56, 71, 71]],
    "m3": [[-120, -120, 135, 135], [-248, -248, 263, 263]],
}


def test_cell_anchors_match_reference_table():
    for level in ssh_levels():
        assert cell_anchors(level.anchor_sizes).tolist() == REFERENCE[level.name]


def test_grid_is_location_major_anchor_minor_with_7_5_centres():
    anchors = grid_anchors((16, 32), stride=8, height=2, width=3)
    assert anchors.shape == (2 * 3 * 2, 4)
    # index (y * W + x) * A + a
    assert anchors[0].tolist() == [0, 0, 15, 15]
    assert anchors[1].tolist() == [-8, -8, 23, 23]
    assert anchors[2].tolist() == [8, 0, 23, 15]  # x = 1
    assert anchors[(1 * 3 + 2) * 2 + 1].tolist() == [-8 + 16, -8 + 8, 23 + 16, 23 + 8]  # y = 1, x = 2, a = 1
    centres = (anchors[:, :2] + anchors[:, 2:]) / 2
    assert torch.all(centres[::2, 0] == torch.tensor([7.5, 15.5, 23.5] * 2))


def test_m3_centres_use_the_same_7_5_offset():
    anchors = grid_anchors((256, 512), stride=32, height=1, width=2)
    assert anchors[2].tolist() == [-120 + 32, -120, 135 + 32, 135]


def test_anchor_count_at_1200x1600():
    sizes = {8: (150, 200), 16: (75, 100), 32: (38, 50)}
    total = sum(grid_anchors(lv.anchor_sizes, lv.stride, *sizes[lv.stride]).shape[0] for lv in ssh_levels())
    assert total == 78_800


def test_anchor_grid_is_grid_anchors_built_once_per_shape():
    level = ssh_levels()[1]
    grid = anchor_grid(level.anchor_sizes, level.stride, 7, 5, torch.device("cpu"))
    assert torch.equal(grid, grid_anchors(level.anchor_sizes, level.stride, 7, 5))
    assert anchor_grid(level.anchor_sizes, level.stride, 7, 5, torch.device("cpu")) is grid
    assert anchor_grid(level.anchor_sizes, level.stride, 5, 7, torch.device("cpu")).shape == grid.shape
    assert not torch.equal(anchor_grid(level.anchor_sizes, level.stride, 5, 7, torch.device("cpu")), grid)
