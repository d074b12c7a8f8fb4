"""Canonical kinds and settings of Keras layers and ops, and their readable labels.

Spellings that compute the same thing get the same description: `GlobalAvgPool2D` and
`GlobalAveragePooling2D`, `ReLU()` and `Activation("relu")`, the `Add` layer and `keras.ops.add`.
"""

from __future__ import annotations

from typing import Any

# Activation names as Keras spells them, and what they are.
_ACTIVATIONS = {"relu": "relu", "softmax": "softmax", "tanh": "tanh", "sigmoid": "sigmoid", "elu": "elu",
                "gelu": "gelu", "selu": "selu", "swish": "silu", "silu": "silu", "leaky_relu": "leaky_relu",
                "softplus": "softplus", "relu6": "relu6", "hard_sigmoid": "hard_sigmoid"}
# keras.ops operations on Keras tensors.
_OPS = {"Relu": "relu", "Softmax": "softmax", "Tanh": "tanh", "Sigmoid": "sigmoid", "Add": "add",
        "Concatenate": "concat", "Multiply": "multiply", "Silu": "silu", "Gelu": "gelu"}
_MERGES = {"Add": "add", "Concatenate": "concat", "Multiply": "multiply", "Average": "average",
           "Maximum": "maximum", "Subtract": "subtract"}
COMMUTATIVE = frozenset({"add", "concat", "multiply", "average", "maximum"})


def canonical_activation(activation: Any) -> str | None:
    """The canonical name of a Keras activation function or name; None for the identity."""
    name = activation if isinstance(activation, str) else getattr(activation, "__name__", str(activation))
    name = name.lower()
    if name in ("linear", "none", ""):
        return None
    return _ACTIVATIONS.get(name, name)


def _pair(value: Any) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value, value)
    return tuple(int(v) for v in value)


NO_PADDING = "either"  # 'same' and 'valid' compute the same here: 'same' would add no padding at all


def padding_is_moot(settings: dict[str, Any], input_shape: tuple[int | None, ...] | None) -> bool:
    """Whether 'same' would add no padding to a window sliding over an input of this (batch, ..., channels) shape,
    so that 'same' and 'valid' give the same outputs at the same offsets: a window of 1 at any size and stride, a
    2x2 pool of stride 2 on 224x224.

    >>> padding_is_moot({"pool": (2, 2), "strides": (2, 2)}, (None, 224, 224, 64))
    True
    >>> padding_is_moot({"pool": (2, 2), "strides": (2, 2)}, (None, 7, 7, 64))
    False
    >>> padding_is_moot({"kernel": (1, 1), "strides": (2, 2)}, (None, None, None, 64))
    True
    """
    window = settings.get("kernel") or settings.get("pool")
    if window is not None and all(w == 1 for w in window):
        return True
    if input_shape is None or window is None:
        return False
    spatial = input_shape[1:-1]
    dilation = settings.get("dilation") or (1,) * len(window)
    if len(spatial) != len(window) or any(n is None for n in spatial):
        return False
    for n, k, s, d in zip(spatial, window, settings["strides"], dilation, strict=False):
        span = (k - 1) * d + 1
        if (-(-n // s) - 1) * s + span - n > 0:
            return False
    return True


def describe_layer(layer: Any) -> tuple[str | None, dict[str, Any], str | None]:
    """(kind, settings, folded activation) of a layer or op; kind None means the layer computes nothing."""
    cls = type(layer).__name__
    module = type(layer).__module__
    if module.startswith("keras.src.ops"):
        kind = _OPS.get(cls, cls.lower())
        settings = {"axis": getattr(layer, "axis", -1)} if kind == "concat" else {}
        return kind, settings, None
    config = layer.get_config() if hasattr(layer, "get_config") else {}
    activation = canonical_activation(config["activation"]) if "activation" in config else None
    if cls == "InputLayer":
        shape = config.get("batch_shape") or config.get("batch_input_shape")
        return "input", {"shape": tuple(shape[1:]) if shape else None}, None
    if cls in ("Conv1D", "Conv2D", "Conv3D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose"):
        kernel = _pair(config["kernel_size"])
        settings = {
            "filters": config.get("filters"),
            "kernel": kernel,
            "strides": _pair(config["strides"]),
            "padding": config["padding"],
            "dilation": _pair(config["dilation_rate"]),
            "bias": config["use_bias"],
        }
        if cls == "DepthwiseConv2D":
            settings["depth_multiplier"] = config.get("depth_multiplier", 1)
        if config.get("groups", 1) != 1:
            settings["groups"] = config["groups"]
        return {"Conv2D": "conv", "Conv1D": "conv1d"}.get(cls, cls.lower()), settings, activation
    if cls == "Dense":
        return "dense", {"units": config["units"], "bias": config["use_bias"]}, activation
    if cls in ("MaxPooling2D", "AveragePooling2D", "MaxPooling1D", "AveragePooling1D"):
        pool = _pair(config["pool_size"])
        strides = _pair(config["strides"]) if config.get("strides") is not None else pool
        kind = "max_pool" if cls.startswith("Max") else "avg_pool"
        return kind, {"pool": pool, "strides": strides, "padding": config["padding"]}, None
    if cls in ("GlobalAveragePooling2D", "GlobalAveragePooling1D"):
        return "global_avg_pool", {}, None
    if cls in ("GlobalMaxPooling2D", "GlobalMaxPooling1D"):
        return "global_max_pool", {}, None
    if cls == "Activation":
        return canonical_activation(config["activation"]), {}, None
    if cls == "ReLU":
        plain = not config.get("max_value") and not config.get("negative_slope") and not config.get("threshold")
        return ("relu" if plain else "relu_variant"), ({} if plain else dict(config)), None
    if cls == "Softmax":
        return "softmax", {}, None
    if cls == "BatchNormalization":
        return "batchnorm", {}, None
    if cls in _MERGES:
        settings = {"axis": config.get("axis", -1)} if cls == "Concatenate" else {}
        return _MERGES[cls], settings, None
    if cls in ("Dropout", "SpatialDropout2D"):
        return "dropout", {"rate": config.get("rate")}, None
    if cls == "Flatten":
        return "flatten", {}, None
    if cls == "ZeroPadding2D":
        return "zero_padding", {"padding": config.get("padding")}, None
    return cls.lower(), {}, activation


def label(kind: str, settings: dict[str, Any]) -> str:
    """A short readable description: `Conv2D 5x5, 10 filters, stride 1, 'same'`."""
    if kind == "conv":
        k = "x".join(map(str, settings["kernel"]))
        s = settings["strides"]
        text = f"Conv2D {k}, {settings['filters']} filters"
        if s[0] != 1 or s[1] != 1:
            text += f", stride {s[0] if s[0] == s[1] else s}"
        if settings["padding"] != NO_PADDING:
            text += f", '{settings['padding']}'"
        if settings["dilation"] != (1, 1):
            text += f", dilation {settings['dilation']}"
        return text + ("" if settings["bias"] else ", no bias")
    if kind in ("max_pool", "avg_pool"):
        name = "MaxPooling2D" if kind == "max_pool" else "AveragePooling2D"
        p, s = settings["pool"], settings["strides"]
        padding = "" if settings["padding"] == NO_PADDING else f", '{settings['padding']}'"
        return f"{name} {p[0]}x{p[1]}, stride {s[0]}{padding}"
    names = {"global_avg_pool": "GlobalAveragePooling2D", "global_max_pool": "GlobalMaxPooling2D",
             "relu": "ReLU", "softmax": "softmax", "batchnorm": "BatchNormalization", "flatten": "Flatten",
             "add": "Add", "concat": "Concatenate", "input": "Input", "tanh": "tanh", "sigmoid": "sigmoid"}
    if kind == "dense":
        return f"Dense {settings['units']}" + ("" if settings["bias"] else ", no bias")
    if kind == "concat" and settings.get("axis", -1) not in (-1, 3):
        return f"Concatenate on axis {settings['axis']}"
    if kind == "dropout":
        return f"Dropout {settings['rate']}"
    if kind == "input":
        return f"Input {settings['shape']}"
    return names.get(kind, kind)
