"""model=backbone: pretrained weights from a local file, frozen blocks that stay as loaded, a head sized from
the data, and a slower learning rate for the body."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch

from levers.build import build
from levers.config.validate import validate_config
from levers.errors import LeversConfigError
from levers.models.backbone import Backbone
from levers.models.resnet import ResNet
from levers.optim import Schedule, configure_optimization
from levers.run import train

SMALL = ["data=digits", "data.limit=240", "model=backbone", "trainer.max_epochs=2"]


def saved_resnet(path: Path, name: str = "resnet18", in_channels: int = 1, stem: str = "imagenet") -> dict:
    """A torchvision-style file: a whole ResNet's state_dict, 1000-class fc included; BatchNorm statistics made
    non-trivial so that a frozen block keeping them is visible."""
    torch.manual_seed(7)
    net = ResNet(name, in_channels=in_channels, stem=stem)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    state = net.state_dict()
    torch.save(state, path)
    return state


def saved_bytes() -> bytes:
    buffer = io.BytesIO()
    torch.save(ResNet("resnet18", in_channels=1).state_dict(), buffer)
    return buffer.getvalue()


def body(state: dict) -> dict:
    return {name.removeprefix("net.backbone."): value for name, value in state.items() if "backbone." in name}


def trained_state(cfg) -> dict:
    train(cfg)
    checkpoint = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    return torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]


def test_the_loaded_weights_equal_the_files(tmp_path):
    state = saved_resnet(tmp_path / "resnet18.pt")
    net = Backbone(64, 10, [1, 8, 8], weights=str(tmp_path / "resnet18.pt"))
    loaded = net.backbone.state_dict()
    assert loaded.keys() == {name for name in state if not name.startswith("fc.")}
    assert all(torch.equal(loaded[name], state[name]) for name in loaded)
    assert net(torch.zeros(3, 64)).shape == (3, 10)  # the new head has the data's 10 classes, not the file's 1000


def test_frozen_blocks_do_not_change_in_training_while_the_head_does(tmp_path, make_cfg):
    state = saved_resnet(tmp_path / "resnet18.pt")
    cfg = make_cfg(*SMALL, f"model.weights={tmp_path / 'resnet18.pt'}", "model.freeze=all_but_head")
    initial_head = build(cfg).module.net.head.weight.detach().clone()  # the run's own seed: the same first head
    trained = trained_state(cfg)
    for name, value in body(trained).items():  # weights and BatchNorm statistics both
        assert torch.equal(value, state[name]), name
    assert not torch.allclose(trained["net.head.weight"], initial_head)


def test_freezing_n_blocks_freezes_the_stem_and_the_first_layers_only():
    net = Backbone(64, 10, [1, 8, 8], freeze=2)
    trainable = {name.split(".")[1] for name, p in net.named_parameters() if p.requires_grad and "backbone" in name}
    assert trainable == {"layer2", "layer3", "layer4"}
    net.train()
    assert not net.backbone.bn1.training and not net.backbone.layer1[0].bn1.training
    assert net.backbone.layer2[0].bn1.training


def test_the_body_trains_at_the_lr_times_backbone_lr_mult_and_frozen_parameters_are_left_out(tmp_path, make_cfg):
    saved_resnet(tmp_path / "resnet18.pt")
    weights = f"model.weights={tmp_path / 'resnet18.pt'}"
    cfg = make_cfg(*SMALL, weights, "model.freeze=1", "optimizer.lr=0.002", "optimizer.backbone_lr_mult=0.1")
    module = build(cfg).module
    optimizer = configure_optimization(module.optimizer_factory, Schedule(None), module.trained_parameters())[
        "optimizer"
    ]
    lrs = {group["name"]: group["lr"] for group in optimizer.param_groups}
    assert lrs == pytest.approx({"head": 0.002, "backbone": 0.0002})
    stepped = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert (
        id(module.net.backbone.conv1.weight) not in stepped
        and id(module.net.backbone.layer1[0].conv1.weight) in stepped
    )


def test_a_levers_checkpoint_of_a_backbone_run_is_a_weights_file(tmp_path, make_cfg):
    first = make_cfg(*SMALL, "trainer.max_epochs=1")
    pretrained = body(trained_state(first))
    checkpoint = Path(first.paths.output_dir) / "checkpoints" / "last.ckpt"
    net = Backbone(64, 3, [1, 8, 8], weights=str(checkpoint))
    assert all(torch.equal(net.backbone.state_dict()[name], value) for name, value in pretrained.items())


def test_imagenet_colour_weights_on_grey_images_sum_the_first_convolution_over_colour(tmp_path):
    state = saved_resnet(tmp_path / "rgb.pt", in_channels=3)
    net = Backbone(64, 10, [1, 8, 8], weights=str(tmp_path / "rgb.pt"))
    assert torch.allclose(net.backbone.conv1.weight, state["conv1.weight"].sum(dim=1, keepdim=True))


def test_input_normalization_inside_the_network_is_per_channel():
    net = Backbone(3 * 8 * 8, 2, [3, 8, 8], input_mean=[0.5, 0.4, 0.3], input_std=[0.2, 0.2, 0.2]).eval()
    images = torch.rand(2, 3, 8, 8)
    normalized = (images - torch.tensor([0.5, 0.4, 0.3]).view(3, 1, 1)) / 0.2
    assert torch.allclose(net(images.flatten(1)), net.head(net.backbone(normalized)))


def test_a_checkpoint_serves_after_its_pretrained_file_is_gone(tmp_path, make_cfg):
    from levers.serving.checkpoint import restore

    saved_resnet(tmp_path / "resnet18.pt")
    cfg = make_cfg(*SMALL, "trainer.max_epochs=1", f"model.weights={tmp_path / 'resnet18.pt'}")
    trained = trained_state(cfg)
    (tmp_path / "resnet18.pt").unlink()
    restored = restore(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt")
    assert torch.equal(restored.module.net.head.weight, trained["net.head.weight"])


@pytest.mark.parametrize(
    ("make_file", "says"),
    [
        (lambda path: None, "an existing file of weights"),
        (lambda path: path.write_text("not a torch file"), "levers never unpickles"),
        (lambda path: torch.save({"conv1.weight": Path("/")}, path), "Unsupported global"),
        (lambda path: path.write_bytes(saved_bytes()[:5000]), "a readable torch.save file"),
        (lambda path: torch.save(ResNet("resnet34", in_channels=1).state_dict(), path), "unexpected layer1.2"),
        (lambda path: saved_resnet(path, stem="small"), "model.stem must match"),
    ],
    ids=["missing", "not-torch", "pickled-object", "truncated", "other-architecture", "other-stem"],
)
def test_a_bad_weights_file_is_one_line_naming_the_key(tmp_path, make_file, says):
    path = tmp_path / "weights.pt"
    make_file(path)
    with pytest.raises(LeversConfigError, match="model.weights") as error:
        Backbone(64, 10, [1, 8, 8], weights=str(path))
    assert says in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("override", "key"),
    [("model.freeze=6", "model.freeze"), ("model.name=resnet9", "model.name"), ("model.stem=tiny", "model.stem")],
)
def test_bad_backbone_keys_fail_at_start_up(make_cfg, override, key):
    with pytest.raises(LeversConfigError, match=key):
        validate_config(make_cfg(*SMALL, override))


def test_backbone_lr_mult_with_a_model_without_a_body_is_refused(make_cfg):
    with pytest.raises(LeversConfigError, match="optimizer.backbone_lr_mult"):
        validate_config(make_cfg("model=mlp", "optimizer.backbone_lr_mult=0.1"))


def test_backbone_lr_mult_without_pretrained_weights_is_refused(make_cfg):
    with pytest.raises(LeversConfigError, match="without model.weights"):
        validate_config(make_cfg(*SMALL, "optimizer.backbone_lr_mult=0.1"))


def test_a_resnet_with_the_small_stem_learns_8x8_digits_from_scratch(make_cfg):
    cfg = make_cfg(*SMALL, "model.stem=small", "data.limit=400", "data.batch_size=16", "trainer.max_epochs=3")
    train(cfg)
    summary = json.loads((Path(cfg.paths.output_dir) / "summary.json").read_text())
    assert summary["test"]["test/acc"] > 0.5  # 10 classes: chance is 0.1
