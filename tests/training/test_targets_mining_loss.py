import math

import pytest
import torch

from core.anchors import grid_anchors
from core.boxes import box_iou_inclusive
from core.config import LevelSpec, model_config
from training.config import recipe_for
from training.loss import level_targets, smooth_l1, ssh_loss
from training.mining import ohem_sample
from training.targets import BACKGROUND, FACE, IGNORE, assign_targets


def test_labels_positive_negative_ignored_and_border():
    anchors = torch.tensor([
        [0.0, 0, 15, 15],    # identical to the face -> IoU 1 -> positive
        [100, 100, 115, 115],  # far away -> background
        [4, 0, 19, 15],      # IoU 12*16 / (2*256 - 192) = 0.6 -> positive
        [8, 0, 23, 15],      # IoU 8*16 / (512 - 128) = 0.333 -> ignored (between 0.3 and 0.5)
        [-8, -8, 23, 23],    # pokes outside the image -> ignored by the border rule 0
    ])
    face = torch.tensor([[0.0, 0, 15, 15]])
    labels, deltas = assign_targets(anchors, face, height=200, width=200, allowed_border=0)
    assert labels.tolist() == [1, 0, 1, -1, -1]
    assert torch.allclose(deltas[0], torch.zeros(4))
    assert abs(deltas[2, 0].item() - (-4 / 16)) < 1e-6  # dx = (8 - 12) / 16
    labels_m3, _ = assign_targets(anchors, face, height=200, width=200, allowed_border=512)
    assert labels_m3[4] != -1  # M3's 512-px border keeps it (IoU 256/1024 = 0.25 -> background)


def test_image_without_faces_gives_only_background_inside():
    anchors = torch.tensor([[0.0, 0, 15, 15], [-8, -8, 23, 23]])
    labels, _ = assign_targets(anchors, torch.zeros(0, 4), 100, 100, 0)
    assert labels.tolist() == [0, -1]


def test_face_that_fits_no_module_has_no_positive():
    anchors = torch.tensor([[0.0, 0, 15, 15], [-8, -8, 23, 23], [8, 8, 23, 23]])
    tiny = torch.tensor([[2.0, 2, 5, 5]])  # 4 px: IoU with the 16-px anchor is 16/256 < 0.3 -> negative
    labels, _ = assign_targets(anchors, tiny, 100, 100, allowed_border=512)
    assert (labels == 1).sum() == 0 and labels[0] == 0
    huge = torch.tensor([[0.0, 0, 299, 299]])
    labels, _ = assign_targets(anchors, huge, 400, 400, allowed_border=512)
    assert (labels == 1).sum() == 0


def test_all_anchors_outside_means_all_are_used():
    anchors = torch.tensor([[-8.0, -8, 23, 23]])
    labels, _ = assign_targets(anchors, torch.zeros(0, 4), 10, 10, 0)
    assert labels.tolist() == [0]


def test_ohem_keeps_hardest_positives_and_fills_with_hardest_negatives():
    labels = torch.tensor([[1] * 100 + [0] * 500 + [-1] * 10])
    prob = torch.cat([torch.linspace(0.0, 0.99, 100), torch.linspace(0.0, 0.99, 500), torch.rand(10)]).unsqueeze(0)
    sampled = ohem_sample(labels, prob)
    pos = torch.nonzero(sampled[0] == 1).flatten()
    neg = torch.nonzero(sampled[0] == 0).flatten()
    assert pos.tolist() == list(range(64))  # lowest face probability among positives
    assert neg.tolist() == list(range(100 + 500 - 192, 600))  # highest among negatives
    assert (sampled[0, 600:] == -1).all()


def test_ohem_with_few_positives_and_few_negatives():
    labels = torch.tensor([[1] * 10 + [0] * 300, [1] * 3 + [0] * 20 + [-1] * 287])
    prob = torch.rand(2, 310)
    sampled = ohem_sample(labels, prob)
    assert (sampled[0] == 1).sum() == 10 and (sampled[0] == 0).sum() == 246
    assert (sampled[1] == 1).sum() == 3 and (sampled[1] == 0).sum() == 20  # fewer than 256 in all


def test_smooth_l1_sigma_3():
    x = torch.tensor([0.05, -0.05, 0.5, -2.0])
    expected = [4.5 * 0.0025, 4.5 * 0.0025, 0.5 - 1 / 18, 2.0 - 1 / 18]
    assert torch.allclose(smooth_l1(x), torch.tensor(expected))


def test_loss_by_hand_on_a_tiny_level():
    level = LevelSpec("m1", 8, (16,), 8, 0)
    # feature map 1 x 2 -> anchors [0,0,15,15] and [8,0,23,15]; image 16 x 24 (second anchor inside)
    cls = torch.zeros(1, 2, 1, 2)
    cls[0, 1, 0, 0] = 2.0  # face logit of anchor 0
    deltas = torch.zeros(1, 4, 1, 2)
    deltas[0, 0, 0, 0] = 0.5  # dx of anchor 0
    face = [torch.tensor([[0.0, 0, 15, 15]])]
    losses = ssh_loss([(cls, deltas)], (level,), face, [(16, 24)])
    # anchor 0: positive, CE = log(1 + e^-2); anchor 1: IoU 0.333 -> ignored. One sampled anchor.
    assert abs(losses["cls_m1"].item() - math.log(1 + math.exp(-2))) < 1e-6
    assert abs(losses["reg_m1"].item() - (0.5 - 1 / 18)) < 1e-6


def test_box_loss_divides_by_sampled_anchors_as_the_code_or_by_positives_as_the_paper():
    level = LevelSpec("m1", 8, (16,), 8, 0)
    # anchors [0,0,15,15] (positive), [8,0,23,15] (IoU 1/3, ignored), [16,0,31,15] (background)
    cls = torch.zeros(1, 2, 1, 3)
    deltas = torch.zeros(1, 4, 1, 3)
    deltas[0, 0, 0, 0] = 0.5
    deltas[0, 0, 0, 2] = 9.0  # a background anchor's deltas never count
    face = [torch.tensor([[0.0, 0, 15, 15]])]
    code = ssh_loss([(cls, deltas)], (level,), face, [(16, 32)])
    paper = ssh_loss([(cls, deltas)], (level,), face, [(16, 32)], box_normaliser="positives")
    assert abs(code["reg_m1"].item() - (0.5 - 1 / 18) / 2) < 1e-6  # two sampled anchors
    assert abs(paper["reg_m1"].item() - (0.5 - 1 / 18)) < 1e-6  # one positive
    assert code["cls_m1"].item() == paper["cls_m1"].item()
    none = ssh_loss([(cls, deltas)], (level,), [torch.zeros(0, 4)], [(16, 32)], box_normaliser="positives")
    assert none["reg_m1"].item() == 0
    with pytest.raises(ValueError, match="box_normaliser"):
        ssh_loss([(cls, deltas)], (level,), face, [(16, 32)], box_normaliser="faces")


def test_loss_on_an_image_without_faces_is_background_only():
    level = LevelSpec("m1", 8, (16,), 8, 0)
    cls = torch.zeros(1, 2, 2, 2, requires_grad=True)
    deltas = torch.zeros(1, 4, 2, 2, requires_grad=True)
    losses = ssh_loss([(cls, deltas)], (level,), [torch.zeros(0, 4)], [(24, 24)])
    assert abs(losses["cls_m1"].item() - math.log(2)) < 1e-6  # the one inside anchor, p = 0.5
    assert losses["reg_m1"].item() == 0
    sum(losses.values()).backward()
    assert deltas.grad.abs().sum() == 0 and cls.grad.abs().sum() > 0


def test_a_larger_allowed_border_trains_the_anchors_that_cross_the_image_edge():
    level = LevelSpec("m1", 8, (16,), 8, 0)  # the reference's border 0 for M1/M2
    cls = torch.zeros(1, 2, 2, 2)
    cls[0, 1] = 2.0  # every anchor fires...
    cls[0, 1, 0, 0] = 0.0  # ...except the only one inside a 16 × 16 image
    deltas = torch.zeros(1, 4, 2, 2)
    own = ssh_loss([(cls, deltas)], (level,), [torch.zeros(0, 4)], [(16, 16)])
    wide = ssh_loss([(cls, deltas)], (level,), [torch.zeros(0, 4)], [(16, 16)], allowed_border=512)
    assert abs(own["cls_m1"].item() - math.log(2)) < 1e-6  # the firing edge anchors are never seen
    expected = (math.log(2) + 3 * math.log(1 + math.exp(2))) / 4  # now they are background
    assert abs(wide["cls_m1"].item() - expected) < 1e-6


def test_an_anchor_centred_in_the_batch_padding_is_ignored_and_negative_inside_the_image():
    # An M3-sized anchor centred at (71.5, 7.5); the 512-px border keeps it either way.
    anchor = torch.tensor([[71.5 - 127.5, 7.5 - 127.5, 71.5 + 127.5, 7.5 + 127.5]])
    far_face = torch.tensor([[0.0, 90, 9, 99]])
    for faces in (torch.zeros(0, 4), far_face):
        inside, _ = assign_targets(anchor, faces, height=100, width=100, allowed_border=512)
        padded, _ = assign_targets(anchor, faces, height=100, width=64, allowed_border=512)  # centre x ≥ 64
        below, _ = assign_targets(anchor, faces, height=7, width=100, allowed_border=512)  # centre y ≥ 7
        assert inside.tolist() == [BACKGROUND] and padded.tolist() == [IGNORE] and below.tolist() == [IGNORE]


def test_level_targets_ignore_each_images_padding_but_not_its_pixels():
    level = LevelSpec("m3", 32, (256, 512), 8, 512)
    feature = (4, 6)  # a 128 × 192 batch canvas
    faces = [torch.zeros(0, 4), torch.zeros(0, 4)]
    labels, _ = level_targets(level, feature, faces, [(128, 192), (100, 130)], "cpu")
    anchors = grid_anchors(level.anchor_sizes, level.stride, *feature)
    cx, cy = (anchors[:, 0] + anchors[:, 2]) / 2, (anchors[:, 1] + anchors[:, 3]) / 2
    assert (labels[0] == BACKGROUND).all()  # fills the canvas: every anchor is a negative
    in_padding = (cx >= 130) | (cy >= 100)
    assert in_padding.any() and (labels[1][in_padding] == IGNORE).all()
    assert (labels[1][~in_padding] == BACKGROUND).all()


def _labels_without_padding_rule(anchors, faces, height, width, border):
    """Labels as the border rule alone gives them (the code before the padding rule), computed directly."""
    keep = ((anchors[:, 0] >= -border) & (anchors[:, 1] >= -border)
            & (anchors[:, 2] < width + border) & (anchors[:, 3] < height + border))
    best = box_iou_inclusive(anchors, faces).max(dim=1).values
    labels = torch.full((anchors.shape[0],), IGNORE)
    labels[best < 0.3] = BACKGROUND
    labels[best >= 0.5] = FACE
    labels[~keep] = IGNORE
    return labels


@pytest.mark.parametrize("recipe", ["ssh_lite", "ssh_vgg16"])
def test_images_that_fill_the_canvas_keep_their_labels(recipe):
    # The crop recipe's batches are all crop_size² (a multiple of 32): no anchor centre leaves the image.
    config = recipe_for(recipe)
    side = config.crop_size
    generator = torch.Generator().manual_seed(0)
    corners = torch.rand(2, 12, 2, generator=generator) * (side - 40)
    sizes = torch.rand(2, 12, 1, generator=generator) * 300 + 8
    faces = [torch.cat([c, c + s], dim=1) for c, s in zip(corners, sizes)]
    for level in model_config(config.model).levels:
        feature = (side // level.stride, side // level.stride)
        border = level.allowed_border if config.allowed_border is None else config.allowed_border
        labels, _ = level_targets(level, feature, faces, [(side, side)] * 2, "cpu", config.allowed_border)
        anchors = grid_anchors(level.anchor_sizes, level.stride, *feature)
        expected = torch.stack([_labels_without_padding_rule(anchors, f, side, side, border) for f in faces])
        assert torch.equal(labels, expected), level.name
        assert (labels == BACKGROUND).any() and (labels == FACE).any()
