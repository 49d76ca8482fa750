import torch

from core.backbones.vgg16 import VGG16Backbone
from core.config import ModelConfig, model_config
from core.layers import FixedBilinearUpsample, bilinear_kernel
from core.model import build_ssh, flatten_cls, flatten_deltas


def test_ssh_vgg16_has_the_paper_parameter_count():
    model = build_ssh(model_config("ssh_vgg16"))
    assert sum(p.numel() for p in model.parameters()) == 19_768_420
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == 19_506_212  # conv1-2 and the bilinear deconv are frozen


def test_frozen_layers_are_conv1_conv2_and_the_deconv():
    model = build_ssh(model_config("ssh_vgg16"))
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {f"backbone.convs.conv{b}_{i}.{k}" for b in (1, 2) for i in (1, 2) for k in ("weight", "bias")} \
        | {"fusion.upsample.weight"}


def test_bilinear_deconv_matches_caffe_filler_and_reference_values():
    assert bilinear_kernel(4)[0].tolist() == [0.0625, 0.1875, 0.1875, 0.0625]  # 0.25 * [.25 .75 .75 .25]
    up = FixedBilinearUpsample(1)
    x = torch.tensor([1.0, 2, 4, 8, 16]).view(1, 1, 1, 5).expand(1, 1, 3, 5).contiguous()
    row = up(x)[0, 0, 2]  # an interior row: vertical weights sum to 1
    assert torch.allclose(row, torch.tensor([0.75, 1.25, 1.75, 2.5, 3.5, 5.0, 7.0, 10.0, 14.0, 12.0]))


def test_vgg_ceil_mode_shapes_and_head_channels():
    model = build_ssh(model_config("ssh_vgg16")).eval()
    with torch.no_grad():
        outs = model(torch.zeros(1, 3, 100, 130))
    # conv4_3: ceil(100/8)=13 x ceil(130/8)=17; conv5_3: 7 x 9; pool6: 4 x 5
    assert [tuple(c.shape) for c, _ in outs] == [(1, 4, 13, 17), (1, 4, 7, 9), (1, 4, 4, 5)]
    assert [tuple(b.shape) for _, b in outs] == [(1, 8, 13, 17), (1, 8, 7, 9), (1, 8, 4, 5)]


def test_detection_module_channels_follow_the_reference():
    model = build_ssh(model_config("ssh_vgg16"))
    m1, m2 = model.heads["m1"], model.heads["m2"]
    assert m1.conv3x3[0].out_channels == 128 and m1.context.dimred[0].out_channels == 64
    assert m1.cls_head.in_channels == 256 and m2.cls_head.in_channels == 512
    assert m2.context.branch7_2[0].out_channels == 128 and m2.conv3x3[0].in_channels == 512


def test_flatten_pairs_background_channel_a_with_face_channel_A_plus_a():
    cls = torch.zeros(1, 4, 2, 3)
    cls[0, 3, 1, 2] = 5.0  # face logit of anchor 1 at y=1, x=2
    flat = flatten_cls(cls, 2)
    index = (1 * 3 + 2) * 2 + 1
    assert flat[0, index].tolist() == [0.0, 5.0]
    deltas = torch.zeros(1, 8, 2, 3)
    deltas[0, 4 + 2, 1, 2] = 7.0  # anchor 1, dw
    assert flatten_deltas(deltas, 2)[0, index].tolist() == [0.0, 0.0, 7.0, 0.0]


def test_init_is_normal_0_01_for_new_layers():
    model = build_ssh(model_config("ssh_vgg16"))
    w = model.heads["m2"].conv3x3[0].weight
    assert abs(w.std().item() - 0.01) < 0.001 and model.heads["m2"].conv3x3[0].bias.abs().max() == 0


def test_lite_model_shapes_and_size():
    model = build_ssh(model_config("ssh_lite")).eval()
    with torch.no_grad():
        outs = model(torch.zeros(2, 3, 480, 640))
    assert [tuple(c.shape) for c, _ in outs] == [(2, 4, 60, 80), (2, 4, 30, 40), (2, 4, 15, 20)]
    assert sum(p.numel() for p in model.parameters()) < 500_000


def test_config_round_trip_through_plain_data():
    for name in ("ssh_vgg16", "ssh_lite"):
        cfg = model_config(name)
        data = cfg.to_dict()
        assert ModelConfig.from_dict(data) == cfg
        assert all(isinstance(v, (str, int, float, bool, list, dict)) for v in data.values())


def test_vgg_backbone_outputs_are_post_relu():
    c4, c5 = VGG16Backbone()(torch.randn(1, 3, 64, 64))
    assert c4.min() >= 0 and c5.min() >= 0 and c4.shape[-1] == 8 and c5.shape[-1] == 4
