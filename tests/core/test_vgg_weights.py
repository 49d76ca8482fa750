import torch
from torchvision.models import vgg16

from core.backbones.vgg16 import (
    VGG16Backbone,
    load_torchvision_vgg16,
    map_torchvision_vgg16,
)


def test_torchvision_state_dict_maps_onto_the_backbone(tmp_path):
    reference = vgg16(weights=None).eval()  # random init: no network access
    path = tmp_path / "vgg16.pth"
    torch.save(reference.state_dict(), path)
    backbone = VGG16Backbone().eval()
    load_torchvision_vgg16(backbone, path)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        c4, c5 = backbone(x)
        features = reference.features
        expected_c4 = features[:23](x)  # up to relu4_3 (sizes divisible by 16: ceil = floor mode)
        expected_c5 = features[23:30](expected_c4)  # pool4 .. relu5_3
    assert torch.allclose(c4, expected_c4, atol=1e-5) and torch.allclose(c5, expected_c5, atol=1e-5)


def test_mapping_names_the_missing_key():
    state = vgg16(weights=None).state_dict()
    del state["features.28.weight"]
    try:
        map_torchvision_vgg16(state)
    except KeyError as exc:
        assert "features.28.weight" in str(exc)
    else:
        raise AssertionError("expected KeyError")


def test_vgg_normalisation_matches_torchvision_convention():
    from core.config import model_config

    norm = model_config("ssh_vgg16").normalization
    assert norm.channel_order == "RGB" and abs(norm.scale - 1 / 255) < 1e-12
    assert norm.mean == (0.485, 0.456, 0.406) and norm.std == (0.229, 0.224, 0.225)
