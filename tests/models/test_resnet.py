"""levers' ResNet is torchvision's, name for name and parameter for parameter, so torchvision's files load."""

from __future__ import annotations

import pytest
import torch

from levers.models.resnet import ResNet

# torchvision.models.<name>() with its 1000-class fc: sum(p.numel() for p in model.parameters())
TORCHVISION_PARAMETERS = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032}


@pytest.mark.parametrize("name", sorted(TORCHVISION_PARAMETERS))
def test_each_architecture_has_torchvisions_parameter_count(name):
    net = ResNet(name)
    assert sum(p.numel() for p in net.parameters()) == TORCHVISION_PARAMETERS[name]


def test_resnet18_state_dict_uses_torchvisions_names_and_shapes():
    state = ResNet("resnet18").state_dict()
    assert len(state) == 122  # torchvision's resnet18().state_dict(), BatchNorm buffers included
    assert state["conv1.weight"].shape == (64, 3, 7, 7)
    assert state["layer2.0.downsample.0.weight"].shape == (128, 64, 1, 1)
    assert state["layer2.0.downsample.1.running_var"].shape == (128,)
    assert state["layer4.1.bn2.weight"].shape == (512,)
    assert state["fc.weight"].shape == (1000, 512)
    assert "layer1.0.downsample.0.weight" not in state  # layer1 keeps 64 channels at stride 1: no projection


def test_bottleneck_blocks_put_the_stride_in_the_3x3_convolution():  # torchvision's v1.5
    block = ResNet("resnet50").layer2[0]
    assert block.conv1.stride == (1, 1) and block.conv2.stride == (2, 2)


def test_the_small_stem_keeps_a_small_images_resolution_into_layer1():
    imagenet, small = ResNet("resnet18"), ResNet("resnet18", in_channels=1, stem="small")
    images = torch.zeros(2, 1, 28, 28)
    stem = small.maxpool(small.relu(small.bn1(small.conv1(images))))
    assert stem.shape[-2:] == (28, 28)
    assert imagenet.maxpool(imagenet.conv1(torch.zeros(2, 3, 28, 28))).shape[-2:] == (7, 7)
    assert small(images).shape == (2, 1000)
