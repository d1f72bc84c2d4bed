"""The ``vgg16`` family: the VGG16 layout used by XPert (Moitra et al., DAC 2023).

13 conv3x3 layers, 2x2 pooling after conv 2, 4, 7 and 10, then a linear classifier on the
flattened ``C13 x 2 x 2`` spikes: 14 slots (13 conv + classifier). Conv 1 sees the analog image
(``encoding: direct``) and is computed once, or a spike frame per timestep (``encoding: events``);
every other layer runs T times on spikes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cosearch.core.errors import InvalidCandidate
from cosearch.workload.shapes import Family, LayerShape, input_encoding

VGG16_POOL_AFTER = (2, 4, 7, 10)  # 1-based conv indices followed by 2x2 pooling (XPert)
VGG16_CONVS = 13


def _vgg16_genome(values: Mapping[str, Any]) -> dict[str, Any]:
    channels = values.get("channels", (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512))
    if isinstance(channels, int):
        channels = (channels,) * VGG16_CONVS
    channels = tuple(int(c) for c in channels)
    if len(channels) != VGG16_CONVS or min(channels) < 1:
        raise InvalidCandidate(f"vgg16 needs {VGG16_CONVS} positive channel counts, got {channels}")
    return {
        "arch": "vgg16",
        "channels": channels,
        "in_channels": int(values.get("in_channels", 3)),
        "image_size": int(values.get("image_size", 32)),
        "num_classes": int(values.get("num_classes", 10)),
        "encoding": input_encoding(values),
    }


def _vgg16_layers(genome: Mapping[str, Any]) -> list[LayerShape]:
    size = int(genome["image_size"])
    cin = int(genome["in_channels"])
    direct = genome.get("encoding", "direct") == "direct"  # else conv1 sees a 1-bit spike frame at every timestep
    layers = []
    for index, cout in enumerate(genome["channels"], start=1):
        first_direct = index == 1 and direct
        layers.append(
            LayerShape(
                slot=index - 1, name=f"conv{index}", kind="conv", cin=cin, cout=int(cout), kernel=3,
                h_out=size, w_out=size, input_bits=None if first_direct else 1, per_timestep=not first_direct,
            )
        )
        cin = int(cout)
        if index in VGG16_POOL_AFTER:
            size //= 2
    layers.append(
        LayerShape(
            slot=VGG16_CONVS, name="fc", kind="linear", cin=cin * size * size,
            cout=int(genome["num_classes"]), kernel=1, h_out=1, w_out=1, input_bits=1, per_timestep=True,
        )
    )
    return layers


FAMILY = Family(
    name="vgg16", genome=_vgg16_genome, layers=_vgg16_layers, slots=lambda genome: VGG16_CONVS + 1,
    network="cosearch.snn.vgg:VGG16SNN", example={"arch": "vgg16"},
)
