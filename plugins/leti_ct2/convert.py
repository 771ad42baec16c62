"""Converting a transformers checkpoint for CTranslate2, once: cached inside the checkpoint folder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from leti_core import HubOptions, LetiError, cache_folder

#: The converted model's folder inside a checkpoint folder.
CACHE_NAME = "ctranslate2"
#: Where conversions of hub models go.


def converted(model: str, hub: HubOptions | None = None) -> Path:
    """The CTranslate2 folder of ``model`` (a checkpoint folder or hub id), converting it the first time.

    The conversion is written to a temporary folder and renamed into place, so a conversion that was
    killed leaves nothing that looks finished and is simply done again.
    """
    source = Path(model).expanduser()
    if source.suffix == ".gguf":
        raise LetiError(
            f"{model}: the ct2 sampler converts transformers checkpoints, not GGUF files; "
            "sample a run's checkpoint (its base/ holds the GGUF model converted) or use --sampler hf"
        )
    if source.is_dir():
        if (source / "adapter_config.json").is_file() and not (source / "config.json").is_file():
            raise LetiError(
                f"{source} holds LoRA adapters only: the ct2 sampler needs whole weights "
                "(trainer option lora_checkpoint=merged), or use --sampler hf"
            )
        if not (source / "config.json").is_file():
            raise LetiError(f"model folder {source} has no config.json: not a transformers checkpoint")
        target = source / CACHE_NAME
    else:
        revision = hub.revision if hub is not None else None
        target = cache_folder("ctranslate2") / hashlib.sha256(f"{model}@{revision}".encode()).hexdigest()[:16]
    if (target / "model.bin").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        _convert(model, scratch / "model", hub or HubOptions())
        os.replace(scratch / "model", target)
    except FileExistsError:
        pass  # another process finished the same conversion first
    except OSError as error:
        if not (target / "model.bin").is_file():
            raise LetiError(f"cannot write the CTranslate2 conversion of {model} to {target}: {error}") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _convert(model: str, output: Path, hub: HubOptions) -> None:
    from ctranslate2.converters import TransformersConverter

    try:
        # float32 weights: every compute type is derived from them at load time
        TransformersConverter(
            model, low_cpu_mem_usage=True, revision=hub.revision, trust_remote_code=hub.trust_remote_code
        ).convert(str(output), quantization=None, force=True)
    except (OSError, ValueError) as error:
        raise LetiError(f"cannot convert {model} for CTranslate2: {' '.join(str(error).split())[:300]}") from None
    # CTranslate2 wants every special token named; a model without a BOS token (LeTI never
    # prepends one) gets its EOS token there
    config_file = output / "config.json"
    config = json.loads(config_file.read_text())
    for key in ("bos_token", "unk_token"):
        if not config.get(key):
            config[key] = config["eos_token"]
    config_file.write_text(json.dumps(config, indent=2))
