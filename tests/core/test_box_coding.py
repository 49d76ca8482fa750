import torch

from core.box_coding import decode, encode
from core.boxes import box_iou_inclusive


def test_zero_delta_decodes_with_the_original_plus_one():
    anchor = torch.tensor([[0.0, 0.0, 15.0, 15.0]])
    assert decode(anchor, torch.zeros(1, 4)).tolist() == [[0.0, 0.0, 16.0, 16.0]]


def test_encode_reference_values():
    anchor = torch.tensor([[0.0, 0.0, 15.0, 15.0]])  # w = 16, centre 8
    box = torch.tensor([[4.0, 8.0, 35.0, 23.0]])  # w = 32, h = 16, centre (20, 16)
    dx, dy, dw, dh = encode(anchor, box)[0].tolist()
    assert (dx, dy) == (12 / 16, 8 / 16)
    assert abs(dw - torch.log(torch.tensor(2.0)).item()) < 1e-6 and abs(dh) < 1e-6


def test_round_trip_returns_boxes_plus_one_on_the_far_corner():
    g = torch.Generator().manual_seed(0)
    anchors = torch.rand(100, 2, generator=g) * 500
    anchors = torch.cat([anchors, anchors + 10 + torch.rand(100, 2, generator=g) * 200], dim=1)
    boxes = torch.rand(100, 2, generator=g) * 500
    boxes = torch.cat([boxes, boxes + 5 + torch.rand(100, 2, generator=g) * 300], dim=1)
    decoded = decode(anchors, encode(anchors, boxes))
    assert torch.allclose(decoded, boxes + torch.tensor([0, 0, 1.0, 1.0]), atol=1e-3)


def test_huge_scale_delta_is_clamped():
    out = decode(torch.tensor([[0.0, 0.0, 15.0, 15.0]]), torch.tensor([[0.0, 0.0, 100.0, 100.0]]))
    assert torch.isfinite(out).all() and (out[0, 2] - out[0, 0]) <= 1001


def test_iou_uses_inclusive_widths():
    a = torch.tensor([[0.0, 0.0, 9.0, 9.0]])  # 10 x 10
    b = torch.tensor([[5.0, 0.0, 14.0, 9.0]])  # overlaps 5 x 10
    assert abs(box_iou_inclusive(a, b).item() - 50 / 150) < 1e-6
    assert box_iou_inclusive(a, torch.tensor([[20.0, 20, 30, 30]])).item() == 0

