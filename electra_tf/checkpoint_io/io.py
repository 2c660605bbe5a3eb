"""Reading and writing checkpoints of either format, through upstream names (restoring: `restore`).

"ours": the Trainer's object-based TF2 checkpoints (`tf.train.Checkpoint(model=..., optimizer=...)`,
hparams.json beside them). "upstream": google-research/electra's TF1 name-based checkpoints
(variables under their upstream names, `<name>/adam_m|adam_v` slots in training checkpoints,
`global_step`). "bert": Google BERT's TF1 checkpoints (`bert/...`, `cls/...`; see `bert`). "hf":
Hugging Face ELECTRA or BERT directories (see `hf`). Every exchange goes through a dict of numpy
arrays keyed by upstream names in upstream shapes (see `upstream_names`).
"""

from __future__ import annotations

import dataclasses
import glob
import os

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2

from electra_tf import atomic, configs
from electra_tf.checkpoint_io import bert, hf
from electra_tf.checkpoint_io.architecture import (
    CheckpointError,
    config_for_upstream,
)
from electra_tf.checkpoint_io.upstream_names import (
    GLOBAL_STEP,
    OPTIMIZER_SLOTS,
    is_upstream_model_name,
    upstream_name,
    upstream_shape,
)

OURS, UPSTREAM, HF, BERT = "ours", "upstream", "hf", "bert"
_OBJECT_GRAPH = "_CHECKPOINTABLE_OBJECT_GRAPH"


@dataclasses.dataclass
class CheckpointArrays:
    """A checkpoint as upstream-named arrays: `arrays[name]` in upstream shapes (float32 model
    weights, plus `<name>/adam_m|adam_v` optimizer slots when the checkpoint has them; no
    `global_step`, which is `step`)."""

    arrays: dict[str, np.ndarray]
    step: int
    format: str
    config: configs.PretrainingConfig | None
    prefix: str = ""
    family: str = "electra"  # "bert": a BERT encoder (Google TF1 or HF); see `plan_restore`


def find_checkpoint(path: str) -> tuple[str, str]:
    """A checkpoint prefix, a `.index` file, or a directory → (prefix, "ours" | "upstream" | "bert" | "hf").

    A Hugging Face directory (config.json, model.safetensors) is returned as it is, format "hf". A
    directory with a `checkpoint` state file gives its latest checkpoint; otherwise it must hold
    exactly one `*.index`. The format is read from the variable names.

    Raises:
      CheckpointError: nothing usable at `path` (the message names it).
    """
    if not path:
        raise CheckpointError("no checkpoint path given")
    if hf.is_hf_dir(path):
        return path.rstrip("/"), HF
    prefix = path[: -len(".index")] if path.endswith(".index") else path
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "checkpoint")):
            prefix = tf.train.latest_checkpoint(path)
            if prefix is None:
                raise CheckpointError(
                    f"no checkpoint in {path}: its 'checkpoint' file names none that exists"
                )
        else:
            indexes = sorted(glob.glob(os.path.join(glob.escape(path), "*.index")))
            if len(indexes) != 1:
                found = "no" if not indexes else f"{len(indexes)}"
                raise CheckpointError(
                    f"no checkpoint in {path}: {found} *.index files and no 'checkpoint' file"
                )
            prefix = indexes[0][: -len(".index")]
    elif not os.path.isfile(prefix + ".index"):
        raise CheckpointError(f"no checkpoint in {path}: neither a directory nor a checkpoint prefix")
    try:
        names = [name for name, _ in tf.train.list_variables(prefix)]
    except (tf.errors.OpError, ValueError) as e:
        raise CheckpointError(f"cannot read checkpoint {prefix}: {str(e).splitlines()[0]}") from None
    if _OBJECT_GRAPH in names or any(n.endswith(".ATTRIBUTES/VARIABLE_VALUE") for n in names):
        return prefix, OURS
    if any(is_upstream_model_name(n) for n in names):
        return prefix, UPSTREAM
    if any(bert.is_tf1_bert_name(n) for n in names):
        return prefix, BERT
    raise CheckpointError(
        f"{prefix}: neither an electra-tf checkpoint nor upstream ELECTRA or Google BERT variable names"
    )


def checkpoint_config(path: str) -> configs.PretrainingConfig | None:
    """For our checkpoints, the PretrainingConfig from hparams.json in the prefix's directory; for
    Hugging Face directories, the one config.json describes; None for upstream checkpoints (or
    ours without hparams.json)."""
    prefix, fmt = find_checkpoint(path)
    if fmt in (HF, BERT):
        return config_for_checkpoint(prefix)
    return _config_beside(prefix) if fmt == OURS else None


def _config_beside(prefix: str) -> configs.PretrainingConfig | None:
    """The config in hparams.json next to our checkpoint `prefix`, None without one."""
    try:
        return configs.read_hparams_json(os.path.dirname(prefix))
    except configs.ConfigError as e:
        raise CheckpointError(str(e)) from None


def config_for_checkpoint(
    path: str, model_size: str = "small", hparams=None, model_name: str = "model", data_dir: str = "."
) -> configs.PretrainingConfig:
    """The model config a checkpoint needs: ours → its hparams.json with `hparams` merged over it;
    upstream → `model_size` defaults + `hparams` + the sizes its shapes determine; Google BERT →
    the same from its encoder's shapes (bert_config.json beside it is checked, see `bert_tf1_config`);
    HF → what config.json says, `hparams` over it.

    Raises:
      CheckpointError: no usable checkpoint, ours without hparams.json, or untranslatable shapes.
      configs.ConfigError: bad `hparams`.
    """
    prefix, fmt = find_checkpoint(path)
    if fmt == HF:
        return hf.read_hf(prefix, model_size=model_size, hparams=hparams)[1]
    if fmt == UPSTREAM:
        shapes = tf.train.load_checkpoint(prefix).get_variable_to_shape_map()
        return config_for_upstream(shapes, model_name, data_dir, model_size, hparams)
    if fmt == BERT:  # bert_config.json's sizes (e.g. the attention heads), `hparams` over them
        described = {k: v for k, v in bert_tf1_config(prefix).items() if k in hf.BERT_FIELDS}
        shapes = tf.train.load_checkpoint(prefix).get_variable_to_shape_map()
        shapes.pop(GLOBAL_STEP, None)
        user = configs.load_hparams(hparams)
        overrides = {**described, **user.get("model_hparam_overrides", {})}
        merged = {**user, "model_hparam_overrides": overrides} if overrides else user
        encoder = bert.encoder_only(bert.from_tf1(shapes))
        return config_for_upstream(encoder, model_name, data_dir, model_size, merged)
    config = _config_beside(prefix)
    if config is None:
        raise CheckpointError(f"{prefix}: no hparams.json beside this checkpoint")
    values = configs.hparam_values(config)
    values.update(configs.load_hparams(hparams))
    return configs.config_from_hparams(config.model_name, config.data_dir, values)


def model_arrays(variables, optimizer=None) -> dict[str, np.ndarray]:
    """Variables (and, given the optimizer, their m/v slots as adam_m/adam_v) → upstream arrays."""
    arrays: dict[str, np.ndarray] = {}
    for var in variables:
        name = upstream_name(var.name)
        if name is None:
            raise CheckpointError(f"{var.name}: no upstream name is known for this variable")
        if name in arrays:
            raise CheckpointError(f"{var.name}: a second variable for upstream name {name}")
        shape = upstream_shape(name, var.shape)
        arrays[name] = var.numpy().reshape(shape)
        if optimizer is not None:
            for slot, suffix in OPTIMIZER_SLOTS:
                arrays[name + suffix] = optimizer.get_slot(var, slot).numpy().reshape(shape)
    return arrays


def read_checkpoint_arrays(path: str, config: configs.PretrainingConfig | None = None) -> CheckpointArrays:
    """Reads a checkpoint of either format as upstream-named arrays, building no model.

    Ours are read through their object graph (see `_read_ours`); `config` is what
    `CheckpointArrays.config` holds for ours without hparams.json (None for upstream checkpoints).

    Raises:
      CheckpointError: missing/unreadable checkpoint, or one that `_read_ours` rejects.
    """
    prefix, fmt = find_checkpoint(path)
    if fmt == HF:
        arrays, hf_config = hf.read_hf(prefix)
        return CheckpointArrays(arrays, 0, fmt, hf_config, prefix, hf.family(prefix))
    if fmt == BERT:
        arrays, step = _read_bert_tf1(prefix)
        return CheckpointArrays(arrays, step, fmt, None, prefix, "bert")
    if fmt == UPSTREAM:
        reader = tf.train.load_checkpoint(prefix)
        arrays = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
        step = int(arrays.pop(GLOBAL_STEP, 0))
        return CheckpointArrays(arrays, step, fmt, None, prefix)
    arrays, step = _read_ours(prefix)
    return CheckpointArrays(arrays, step, fmt, _config_beside(prefix) or config, prefix)


def _read_bert_tf1(prefix: str) -> tuple[dict[str, np.ndarray], int]:
    """A Google BERT TF1 checkpoint → (upstream-named arrays, step)."""
    bert_tf1_config(prefix)  # refuses what our encoder does not compute before anything is read
    reader = tf.train.load_checkpoint(prefix)
    arrays = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
    step = int(arrays.pop(GLOBAL_STEP, 0))
    return bert.from_tf1(arrays), step


def bert_tf1_config(prefix: str) -> dict:
    """bert_config.json beside a Google BERT checkpoint ({} without one), checked to describe what
    our encoder computes (its "gelu" is the exact erf form, as Google's released checkpoints were
    trained with)."""
    file = os.path.join(os.path.dirname(prefix), "bert_config.json")
    if not os.path.isfile(file):
        return {}
    config = hf.read_json_object(file)
    hf.check_computation(config, file, "electra-tf's encoder")
    return config


def _read_ours(prefix: str) -> tuple[dict[str, np.ndarray], int]:
    """Our object-based checkpoint → (upstream arrays, step), by the keys of its object graph.

    The weights are the variables reachable from the root's `model` that have an upstream name
    (the others are a part's bookkeeping, e.g. an exit policy's counters); their Adam slots are
    the `optimizer` node's slot variables (as `<name>/adam_m|adam_v`), the step its `iter`. Each
    array is reshaped from our shape to upstream's (e.g. a query kernel [H, n, d] → [H, n·d]).

    Raises:
      CheckpointError: no `model` in the graph, two variables for one upstream name, or a variable
        with optimizer slots (a trained weight) that has no upstream name.
    """
    reader = tf.train.load_checkpoint(prefix)
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(reader.get_tensor(_OBJECT_GRAPH))
    root = {child.local_name: child.node_id for child in graph.nodes[0].children}
    if "model" not in root:
        raise CheckpointError(f"{prefix}: an object-based checkpoint without a model")

    def value_of(node_id: int):
        attributes = graph.nodes[node_id].attributes
        return next((a for a in attributes if a.name == "VARIABLE_VALUE"), None)

    names: dict[int, str] = {}  # model variable node → upstream name
    nameless: dict[int, str] = {}  # model variable node → our name, without upstream name
    arrays: dict[str, np.ndarray] = {}
    seen, queue = {root["model"]}, [root["model"]]
    while queue:  # breadth first, each node once (a shared layer has several parents)
        node_id = queue.pop(0)
        for child in graph.nodes[node_id].children:
            if child.node_id not in seen:
                seen.add(child.node_id)
                queue.append(child.node_id)
        value = value_of(node_id)
        if value is None:
            continue
        name = upstream_name(value.full_name)
        if name is None:
            nameless[node_id] = value.full_name
            continue
        if name in arrays:
            raise CheckpointError(f"{prefix}: {value.full_name}: a second variable for upstream name {name}")
        tensor = reader.get_tensor(value.checkpoint_key)
        arrays[name] = tensor.reshape(upstream_shape(name, tensor.shape))
        names[node_id] = name
    step = 0
    if "optimizer" in root:
        optimizer = graph.nodes[root["optimizer"]]
        iterations = {c.local_name: c.node_id for c in optimizer.children}.get("iter")
        if iterations is not None and value_of(iterations) is not None:
            step = int(reader.get_tensor(value_of(iterations).checkpoint_key))
        suffixes = dict(OPTIMIZER_SLOTS)
        for slot in optimizer.slot_variables:
            original = slot.original_variable_node_id
            if original in nameless:
                raise CheckpointError(f"{nameless[original]}: no upstream name is known for this variable")
            if original not in names or slot.slot_name not in suffixes:
                continue
            name = names[original]
            tensor = reader.get_tensor(value_of(slot.slot_variable_node_id).checkpoint_key)
            arrays[name + suffixes[slot.slot_name]] = tensor.reshape(arrays[name].shape)
    return arrays, step


def write_upstream_checkpoint(arrays: dict[str, np.ndarray], prefix: str, step: int) -> None:
    """Writes a TF1 name-based (V2) checkpoint `prefix.index` / `prefix.data-00000-of-00001` with
    every array under its name plus `global_step` (int64), and a `checkpoint` state file naming it.

    Files are written under temporary names and renamed at the end, so a failure leaves nothing.
    """
    directory = os.path.dirname(os.path.abspath(prefix))
    base = os.path.basename(prefix)
    tmp = atomic.temporary_sibling(prefix)
    names = sorted(n for n in arrays if n != GLOBAL_STEP)
    tensors = [tf.convert_to_tensor(arrays[n]) for n in names]
    names.append(GLOBAL_STEP)
    tensors.append(tf.constant(step, tf.int64))
    try:
        tf.raw_ops.SaveV2(prefix=tmp, tensor_names=names, shape_and_slices=[""] * len(names), tensors=tensors)
        written = sorted(glob.glob(glob.escape(tmp) + ".*"), key=lambda p: p.endswith(".index"))
        # The index last: the checkpoint is complete once it appears.
        atomic.publish([(path, os.path.join(directory, base + path[len(tmp) :])) for path in written])
    finally:
        for path in glob.glob(glob.escape(tmp) + ".*"):
            os.remove(path)
    state = f'model_checkpoint_path: "{base}"\nall_model_checkpoint_paths: "{base}"\n'
    atomic.write_text(os.path.join(directory, "checkpoint"), state)
