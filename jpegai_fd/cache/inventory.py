"""What a latent store holds and removing its stale (superseded, unused) groups: docs/concepts/cache.md."""

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zarr

from jpegai_fd.cache.locks import claims_path, creation_lock, in_use, read_only_reason, try_exclusive, used_path
from jpegai_fd.errors import UserError


@dataclass
class GroupInfo:
    key: str
    dataset: str
    encoder: str  # "<name>-<fingerprint hash>", as in the key
    bpp: int
    split: str
    images: int
    done: int
    failed: int
    size_bytes: int
    last_used: float  # seconds since the epoch (the group's creation when never opened since)
    in_use: bool
    superseded_by: str | None = None
    bucket: str = ""  # what must match for one group to supersede another (besides the ids)


def list_groups(path: str | Path) -> list[GroupInfo]:
    """Every complete group of the store at ``path`` (sorted by key), superseded ones marked."""
    path = Path(path)
    try:
        is_group = json.loads((path / "zarr.json").read_text()).get("node_type") == "group"
    except (OSError, ValueError):
        is_group = False
    if not is_group:
        raise UserError(
            f"'{path}' is not a latent cache (no Zarr group there); pass the folder that paths.cache names (default "
            "cache/latents.zarr)"
        )
    root = zarr.open_group(str(path), mode="r")
    out = []
    for meta in sorted(path.glob("*/*/*/*/done/zarr.json")):
        folder = meta.parent.parent
        key = folder.relative_to(path).as_posix()
        group = root[key]
        attrs = dict(group.attrs)
        done, failed = group["done"][:], group["failed"][:]
        mark = used_path(path, key)
        last = mark.stat().st_mtime if mark.exists() else meta.stat().st_mtime
        same = [attrs.get(k) for k in ("dataset", "bpp", "split", "image_shape", "root", "reading")]
        bucket = json.dumps([same[0], key.split("/")[1], *same[1:]], sort_keys=True)
        names = (str(attrs.get("dataset")), key.split("/")[1], int(attrs.get("bpp", -1)), str(attrs.get("split")))
        size = sum(p.lstat().st_blocks * 512 for p in folder.rglob("*") if p.is_file())  # allocated on disk
        counts = (int(done.size), int(done.sum()), int(failed.sum()), size)
        out.append(GroupInfo(key, *names, *counts, last, in_use(mark), bucket=bucket))
    _mark_superseded(root, out)
    return out


def _mark_superseded(root: zarr.Group, groups: list[GroupInfo]) -> None:
    for bucket in {g.bucket for g in groups}:
        if len(members := [g for g in groups if g.bucket == bucket]) < 2:
            continue
        ids = {g.key: root[g.key]["ids"][:] for g in members}
        newest_first = sorted(members, key=lambda g: g.last_used, reverse=True)
        for i, g in enumerate(newest_first):
            newer = next((h for h in newest_first[:i] if np.array_equal(ids[h.key], ids[g.key])), None)
            g.superseded_by = newer.key if newer is not None else None


@dataclass
class Removal:
    group: GroupInfo
    reason: str
    done: bool  # removed (False: dry run, or kept because a process has it open)
    kept_in_use: bool = False


def collect(path: str | Path, older_than_days: float | None = None, dry_run: bool = False) -> list[Removal]:
    """Remove superseded groups (and, with ``older_than_days``, unused ones), never one in use; ``done`` goes first."""
    path = Path(path)
    groups = list_groups(path)
    reason_ro = read_only_reason(path)
    if reason_ro is not None and not dry_run:
        raise UserError(f"latent cache '{path}' is read-only ({reason_ro}); run gc where it is writable")
    cutoff = None if older_than_days is None else time.time() - older_than_days * 86400
    out = []
    for g in groups:
        if g.superseded_by is not None:
            reason = f"superseded by {g.superseded_by}"
        elif cutoff is not None and g.last_used < cutoff:
            reason = f"unused for {(time.time() - g.last_used) / 86400:.1f} days"
        else:
            continue
        mark = used_path(path, g.key)
        fd = None if dry_run else try_exclusive(mark)
        if fd is None:
            out.append(Removal(g, reason, done=False, kept_in_use=g.in_use or not dry_run))
            continue
        try:
            with creation_lock(path):
                _remove_group(path, g.key)
            claims_path(path, g.key).unlink(missing_ok=True)
            mark.unlink(missing_ok=True)  # a job waiting on this mark sees it replaced and opens anew
        finally:
            os.close(fd)
        out.append(Removal(g, reason, done=True))
    return out


def _remove_group(store: Path, key: str) -> None:
    folder = store / key
    shutil.rmtree(folder / "done", ignore_errors=True)
    shutil.rmtree(folder)
    for parent in folder.parents:  # prune parents left holding only their own zarr.json
        if parent == store or store not in parent.parents or [p.name for p in parent.iterdir()] != ["zarr.json"]:
            break
        shutil.rmtree(parent)


def verify(path: str | Path, repair: bool = False) -> list[tuple[str, str]]:
    """(group key, state): ``ok``, ``unchecked`` (no checksums) or ``damaged``; ``repair`` marks damaged chunks."""
    from jpegai_fd.cache.store import LatentGroup, checksummed

    path, out = Path(path), []
    if repair and (reason := read_only_reason(path)) is not None:
        raise UserError(f"latent cache '{path}' is read-only ({reason}); run verify --repair where it is writable")
    root = zarr.open_group(str(path), mode="r+" if repair else "r")
    for info in list_groups(path):
        group = LatentGroup(root[info.key], root[info.key]["done"].chunks[0])
        arrays = group.chunked_arrays()
        if not any(checksummed(a) for a in arrays):
            out.append((info.key, "unchecked (written before checksums: delete the group to re-extract it with them)"))
            continue
        if not all(_reads(group.group[name], slice(None)) for name in ("labels", "ids", "done", "failed")):
            out.append((info.key, "damaged beyond repair (labels, ids or masks); delete the group and extract again"))
            continue
        bad = set(group.lost_chunks(group.done_mask() | group.group["failed"][:]))
        chunks = range(-(-len(group) // group.chunk_size))
        bad |= {k for k in chunks for a in arrays if not _reads(a, group.chunk_rows(k))}
        if bad and repair:
            with creation_lock(path):
                group.mark_damaged(sorted(bad))
        out.append((info.key, f"{'repaired' if repair else 'damaged'}: chunks {sorted(bad)}" if bad else "ok"))
    return out


def _reads(array: zarr.Array, rows: slice) -> bool:
    try:
        array[rows]
    except (ValueError, OSError):  # a checksum mismatch, a truncated or unreadable chunk file
        return False
    return True
