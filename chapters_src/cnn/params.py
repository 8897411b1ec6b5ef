"""Computed against published parameter counts for every architecture of :mod:`chapters_src.cnn.architectures`.

Command line::

    python -m chapters_src.cnn.params                 # build every network, print computed vs published
    python -m chapters_src.cnn.params vgg16 resnet50  # only these
    python -m chapters_src.cnn.params --write-tables  # also refresh architecture_tables.json (the notebook's demo)

It exits with status 1 when any computed count differs from the published one (0 otherwise). Networks whose count
does not depend on the input size (global average pooling heads) are built at a small input to save time; the
ones with ``Flatten`` → ``Dense`` heads (LeNet, AlexNet, VGG) at their real input size, with zero initialisers
(the count is the same and building is several times faster).

``architecture_tables.json`` stores each network's layer table at its published input size so the notebook can
show them without building fifteen networks; the unit tests rebuild every network and compare with it.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from pathlib import Path
from typing import Any, Callable

from . import architectures as arch

TABLES_PATH = Path(__file__).with_name("architecture_tables.json")


@dataclasses.dataclass(frozen=True)
class Architecture:
    """One network: ``build(input_shape)`` → model; ``published`` count and what it counts (``"total"`` or
    ``"trainable"``); ``input_shape`` it is published at; ``small_input`` where the count is the same but the
    build is cheaper (``None``: always the published size); ``source`` of the published figure."""

    name: str
    title: str
    build: Callable[..., Any]
    published: int
    source: str
    input_shape: tuple[int, int, int]
    small_input: tuple[int, int, int] | None = None
    counts: str = "total"
    tolerance: float = 0.0   # relative; only ENet's "≈ 0.37 M" is approximate


ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in (
    Architecture("lenet5", "LeNet-5 (1998, faithful)", lambda s: arch.build_lenet5(s), 60_000,
                 "LeCun et al. 1998 (sum of the layer counts in §II.B); Stewart: '≈60,000'", (32, 32, 1),
                 counts="trainable"),
    Architecture("lenet5_modern", "LeNet-5 (modern variant)", lambda s: arch.build_lenet5(s, faithful=False),
                 61_706, "156 + 2,416 + 48,120 + 10,164 + 850 (inventory 004 §5.1)", (32, 32, 1)),
    Architecture("alexnet", "AlexNet (two groups)",
                 lambda s: arch.build_alexnet(s, kernel_initializer="zeros"), 60_965_224,
                 "Krizhevsky et al. 2012: '60 million parameters'; exact count with the paper's groups",
                 (227, 227, 3)),
    Architecture("alexnet_single", "AlexNet (single tower)",
                 lambda s: arch.build_alexnet(s, grouped=False, kernel_initializer="zeros"), 62_378_344,
                 "one tower of 96-256-384-384-256 filters", (227, 227, 3)),
    Architecture("vgg16", "VGG16 (2014)", lambda s: arch.build_vgg16(s, kernel_initializer="zeros"), 138_357_544,
                 "Simonyan & Zisserman 2014 (Table 2: 138 M); keras.io: 138.4 M", (224, 224, 3)),
    Architecture("vgg19", "VGG19 (2014)", lambda s: arch.build_vgg19(s, kernel_initializer="zeros"), 143_667_240,
                 "Simonyan & Zisserman 2014 (Table 2: 144 M); keras.io: 143.7 M", (224, 224, 3)),
    Architecture("googlenet", "GoogLeNet / Inception v1 (2014)", lambda s: arch.build_googlenet(s), 6_998_552,
                 "Szegedy et al. 2015, Table 1 (≈6.8 M without biases); no auxiliary heads", (224, 224, 3),
                 small_input=(64, 64, 3)),
    Architecture("resnet50", "ResNet50 (2015)", lambda s: arch.build_resnet50(s), 25_636_712,
                 "He et al. 2016; keras.io: 25.6 M", (224, 224, 3), small_input=(64, 64, 3)),
    Architecture("densenet121", "DenseNet121 (2016)", lambda s: arch.build_densenet121(s), 8_062_504,
                 "Huang et al. 2017; keras.io: 8.1 M", (224, 224, 3), small_input=(64, 64, 3)),
    Architecture("squeezenet1_0", "SqueezeNet 1.0 (2016)", lambda s: arch.build_squeezenet("1.0", s), 1_248_424,
                 "Iandola et al. 2016, Table 1 (1,248,424)", (224, 224, 3), small_input=(64, 64, 3)),
    Architecture("squeezenet1_1", "SqueezeNet 1.1", lambda s: arch.build_squeezenet("1.1", s), 1_235_496,
                 "SqueezeNet v1.1 release notes (forrestiandola/SqueezeNet)", (224, 224, 3),
                 small_input=(64, 64, 3)),
    Architecture("enet", "ENet (2016)", lambda s: arch.build_enet(s), 370_000,
                 "Paszke et al. 2016: '0.37 M parameters' (12 classes, CamVid)", (512, 512, 3),
                 small_input=(64, 64, 3), tolerance=0.02),
    Architecture("xception", "Xception (2016)", lambda s: arch.build_xception(s), 22_910_480,
                 "Chollet 2017; keras.io: 22.9 M", (299, 299, 3), small_input=(71, 71, 3)),
    Architecture("mobilenet_v2", "MobileNetV2 (2018)", lambda s: arch.build_mobilenet_v2(s), 3_538_984,
                 "Sandler et al. 2018, Table 4: 3.4 M; keras.io: 3.5 M", (224, 224, 3),
                 small_input=(64, 64, 3)),
)}


def count(model, counts: str = "total") -> int:
    """``model.count_params()`` (``"total"``) or the number of trainable parameters (``"trainable"``)."""
    if counts == "total":
        return int(model.count_params())
    if counts == "trainable":
        return int(sum(int(_size(w.shape)) for w in model.trainable_weights))
    raise ValueError(f"counts must be 'total' or 'trainable'; got {counts!r}")


def _size(shape) -> int:
    size = 1
    for dimension in shape:
        size *= int(dimension)
    return size


def matches(architecture: Architecture, computed: int) -> bool:
    """True when ``computed`` equals the published count (within the architecture's tolerance)."""
    return abs(computed - architecture.published) <= architecture.tolerance * architecture.published


def build(name: str, small: bool = True):
    """Build architecture ``name`` (at its cheap input size when ``small`` and the count allows it)."""
    if name not in ARCHITECTURES:
        raise ValueError(f"name must be one of {sorted(ARCHITECTURES)}; got {name!r}")
    architecture = ARCHITECTURES[name]
    shape = architecture.small_input if small and architecture.small_input else architecture.input_shape
    return architecture.build(shape)


def layer_table(model) -> list[dict]:
    """One row per layer: ``{"layer", "type", "output_shape", "activations", "parameters"}``.

    ``activations`` is the number of values the layer outputs per image (0 for ``Flatten``, a reshaping
    view); the input layer counts its pixels, as in the source's VGG figure (15,237,608 for VGG16 at 224×224).
    """
    rows = []
    for layer in model.layers:
        shape = tuple(layer.output.shape)
        values = _size(shape[1:]) if all(d is not None for d in shape[1:]) else 0
        kind = type(layer).__name__
        rows.append(dict(layer=layer.name, type=kind, output_shape=list(shape[1:]),
                         activations=0 if kind == "Flatten" else values, parameters=int(layer.count_params())))
    return rows


def stage_of(layer_name: str) -> str:
    """The stage a layer belongs to, from its name: ``conv3_block2_1_conv`` → ``conv3``, ``block_4_expand`` →
    ``block_4``, ``inception_4a_1x1`` → ``inception_4a``, ``mixed9_1`` → ``mixed9``; otherwise the name."""
    match = re.match(r"^(inception_\d[a-z]|bottleneck\d|block_?\d+|conv\d+|pool\d+|fire\d+|fractal\d+|"
                     r"expanded_conv|c3|s[24]|tower\d)", layer_name)
    return match.group(1) if match else layer_name


def stage_table(rows: list[dict]) -> list[dict]:
    """Consecutive layers of one stage merged: ``{"stage", "layers", "output_shape", "parameters"}``."""
    stages: list[dict] = []
    for row in rows:
        stage = stage_of(row["layer"])
        if stages and stages[-1]["stage"] == stage:
            stages[-1]["layers"] += 1
            stages[-1]["parameters"] += row["parameters"]
            stages[-1]["output_shape"] = row["output_shape"]
        else:
            stages.append(dict(stage=stage, layers=1, output_shape=row["output_shape"],
                               parameters=row["parameters"]))
    return stages


def describe(name: str, model) -> dict:
    """The JSON record of one built architecture (what ``architecture_tables.json`` stores)."""
    architecture = ARCHITECTURES[name]
    trainable = count(model, "trainable")
    return dict(name=name, title=architecture.title, published=architecture.published,
                source=architecture.source, counts=architecture.counts, input_shape=list(architecture.input_shape),
                total=int(model.count_params()), trainable=trainable,
                non_trainable=int(model.count_params()) - trainable, rows=layer_table(model))


ROW_FIELDS = ("layer", "type", "output_shape", "activations", "parameters")


def load_tables(path: Path | str = TABLES_PATH) -> dict[str, dict]:
    """The stored records, by name (see :func:`describe`); rows come back as dicts of :data:`ROW_FIELDS`."""
    records = json.loads(Path(path).read_text())
    for record in records.values():
        record["rows"] = [dict(zip(ROW_FIELDS, row)) for row in record["rows"]]
    return records


def _write_tables(records: dict[str, dict], path: Path = TABLES_PATH) -> None:
    lines = []
    for name in sorted(records):
        record = dict(records[name])
        record["rows"] = [[row[field] for field in ROW_FIELDS] for row in record["rows"]]
        lines.append(f"{json.dumps(name)}: {json.dumps(record, separators=(',', ':'))}")
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n")


def format_count(value: int) -> str:
    return f"{value:,}"


def check(names=None, write_tables: bool = False, out=sys.stdout) -> bool:
    """Build ``names`` (default: all), print computed vs published, return True when all match."""
    import keras

    names = list(names or ARCHITECTURES)
    records = load_tables() if write_tables and TABLES_PATH.is_file() else {}
    all_ok = True
    print(f"{'network':<18} {'computed':>14} {'published':>14}  {'counts':<10} status", file=out)
    for name in names:
        architecture = ARCHITECTURES.get(name)
        if architecture is None:
            raise ValueError(f"unknown architecture {name!r}; valid: {sorted(ARCHITECTURES)}")
        model = build(name, small=not write_tables)
        computed = count(model, architecture.counts)
        ok = matches(architecture, computed)
        all_ok &= ok
        published = ("≈" if architecture.tolerance else "") + format_count(architecture.published)
        print(f"{name:<18} {format_count(computed):>14} {published:>14}  {architecture.counts:<10} "
              f"{'ok' if ok else 'MISMATCH'}", file=out, flush=True)
        if write_tables:
            records[name] = describe(name, model)
        del model
        keras.backend.clear_session()
    if write_tables:
        _write_tables(records)
        print(f"wrote {TABLES_PATH}", file=out)
    print("all counts match" if all_ok else "some counts DO NOT match the published figures", file=out)
    return all_ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chapters_src.cnn.params", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help=f"architectures to check (default: all of {sorted(ARCHITECTURES)})")
    parser.add_argument("--write-tables", action="store_true",
                        help=f"build at the published input sizes and rewrite {TABLES_PATH.name}")
    arguments = parser.parse_args(argv)
    return 0 if check(arguments.names, write_tables=arguments.write_tables) else 1


if __name__ == "__main__":
    sys.exit(main())


def separable_savings_from_table(rows: list[dict]) -> list[dict]:
    """:func:`chapters_src.cnn.architectures.separable_savings` from a stored table (3×3 kernels, no biases):
    a ``SeparableConv2D`` has ``C_in·(9 + C_out)`` weights, so ``C_in`` follows from its count; a
    ``DepthwiseConv2D`` has ``9·C``. ``ordinary`` is the plain ``Conv2D`` count ``9·C_in·C_out``."""
    savings = []
    for row in rows:
        if row["type"] == "SeparableConv2D":
            channels_out = row["output_shape"][-1]
            channels_in = row["parameters"] // (9 + channels_out)
        elif row["type"] == "DepthwiseConv2D":
            channels_in = channels_out = row["output_shape"][-1]
        else:
            continue
        ordinary = 9 * channels_in * channels_out
        savings.append(dict(layer=row["layer"], channels_in=channels_in, channels_out=channels_out,
                            separable=row["parameters"], ordinary=ordinary, ratio=ordinary / row["parameters"]))
    return savings


def card_html(record: dict, max_rows: int = 40) -> str:
    """One architecture as an HTML card (for the notebook's frame player): counts against the published figure,
    then the layer table (or the stage table when there are more than ``max_rows`` layers)."""
    from html import escape

    computed = record["trainable"] if record["counts"] == "trainable" else record["total"]
    status = "equal" if computed == record["published"] else f"≈ (within {abs(computed / record['published'] - 1):.1%})"
    rows = record["rows"]
    if len(rows) > max_rows:
        header, body = ("stage", "layers", "output shape", "parameters"), [
            (s["stage"], s["layers"], "×".join(map(str, s["output_shape"])), f"{s['parameters']:,}")
            for s in stage_table(rows)]
    else:
        header, body = ("layer", "type", "output shape", "parameters"), [
            (r["layer"], r["type"], "×".join(map(str, r["output_shape"])), f"{r['parameters']:,}") for r in rows]
    cells = "".join("<tr>" + "".join(f"<td style='padding:0 .6em'>{escape(str(v))}</td>" for v in line) + "</tr>"
                    for line in body)
    heading = "".join(f"<th style='padding:0 .6em;text-align:left'>{h}</th>" for h in header)
    return (f"<div style='font-size:0.85em'><b>{escape(record['title'])}</b> — input "
            f"{'×'.join(map(str, record['input_shape']))}<br>computed: <b>{computed:,}</b> {record['counts']} "
            f"parameters; published: {record['published']:,} ({status})<br><i>{escape(record['source'])}</i><br>"
            f"total {record['total']:,} = {record['trainable']:,} trainable + {record['non_trainable']:,} "
            f"non-trainable<div style='max-height:22em;overflow-y:auto;margin-top:.4em'><table>"
            f"<thead><tr>{heading}</tr></thead><tbody>{cells}</tbody></table></div></div>")
