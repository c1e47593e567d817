"""Atomic file writes and the JSON-lines discipline, shared by every module that writes data.

A reader (another notebook of a parallel batch, a second coder's process)
must never see a half-written file, and a crash must leave the old file
whole: write to a temporary file in the same folder, flush it to disk, then
rename it over the target (``os.replace`` is atomic on POSIX and Windows),
then flush the folder so the rename itself survives a power cut.

Several files replaced together (:func:`atomic_write_many`) are switched
through a small journal: the temporary files are written, then a journal
naming them, then the renames; a crash between two renames is finished by
:func:`replay` at the next open, so a reader sees all the old files or all
the new ones.

JSON lines: a record is one line ending in ``\\n``, and only ``\\n`` ends a
line. :func:`dumps_line` escapes the characters that other tools (and
``str.splitlines``) take for line breaks (U+2028, U+2029, U+0085 and the
C0 separators), and :func:`split_lines` splits on ``\\n`` only.

Files of several folders (a whole project imported: documents, codebook, memos,
coder files) are switched by :func:`atomic_write_across` through a two-phase
journal kept in a folder above them all (the project's root): *prepare* names
the temporary files before they are written, *commit* is written once they all
are; :func:`recover_across` at the next open of the project rolls a prepared
write back (its temporary files removed) and finishes a committed one.

Fault injection (tests only): with ``ANALYSE_CRASH_AFTER=N`` in the
environment, the process ends abruptly (``os._exit``) at the N-th
:func:`step` of a write; with ``ANALYSE_STEP_LOG=path`` each step is appended
to that file, so a test knows how many crash points a write has.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

# Characters str.splitlines() (and some editors) treat as line ends, besides \n and \r.
LINE_SEPARATORS = ("\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e")
LINE_ESCAPES = {ord(c): f"\\u{ord(c):04x}" for c in LINE_SEPARATORS}
JOURNAL_SUFFIX = ".journal.json"

_steps = 0


def _read_umask() -> int:
    # os.umask can only be read by setting it: done once, at import (before any thread writes)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def step(name: str) -> None:
    """A point where a crash may happen; the fault-injection tests stop the process here."""
    global _steps
    log = os.environ.get("ANALYSE_STEP_LOG")
    crash = os.environ.get("ANALYSE_CRASH_AFTER")
    if not log and not crash:
        return
    _steps += 1
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{_steps} {name}\n")
    if crash and _steps >= int(crash):
        os._exit(137)


# --------------------------------------------------------------------------- JSON lines

def dumps_line(record) -> str:
    """One JSON line (without its ``\\n``): UTF-8 kept readable, line separators escaped.

    Examples
    --------
    >>> dumps_line({"memo": "a\\u2028b\\x85c"})
    '{"memo": "a\\\\u2028b\\\\u0085c"}'
    """
    return json.dumps(record, ensure_ascii=False).translate(LINE_ESCAPES)


def split_lines(text: str) -> list[str]:
    """The lines of a JSON-lines text: split on ``\\n`` only (a ``\\r`` before it is dropped).

    Examples
    --------
    >>> split_lines('{"a": "x\\u2028y"}\\r\\n{"b": 1}\\n')
    ['{"a": "x\\u2028y"}', '{"b": 1}']
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _parses(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except json.JSONDecodeError:
        return False


def rejoin_split_lines(lines: list[str], separator: str = "\u2028", max_pieces: int = 64):
    """Put back together the records an old reader split at a line separator.

    The old store read coder files with ``str.splitlines()`` and wrote them
    back with ``\\n``: a memo holding U+2028 became two lines, neither of
    them valid JSON. Consecutive invalid lines whose join (with
    ``separator``, the character most likely lost) is a JSON object are
    merged. Returns ``(lines, repaired)`` where ``repaired`` lists the
    1-based numbers of the first line of each merged record.

    Examples
    --------
    >>> rejoin_split_lines(['{"memo": "a', 'b"}', '{"x": 1}'])
    (['{"memo": "a\\u2028b"}', '{"x": 1}'], [1])
    """
    out, repaired, i = [], [], 0
    while i < len(lines):
        line = lines[i]
        if line.strip() and not _parses(line):
            joined, merged_to = line, None
            for j in range(i + 1, min(len(lines), i + max_pieces)):
                if _parses(lines[j]):
                    break
                joined = joined + separator + lines[j]
                if _parses(joined):
                    merged_to = j
                    break
            if merged_to is not None:
                out.append(joined)
                repaired.append(i + 1)
                i = merged_to + 1
                continue
        out.append(line)
        i += 1
    return out, repaired


# --------------------------------------------------------------------------- atomic writes

def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not possible on this platform (Windows)
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _keep_mode(tmp: str, path: Path) -> None:
    """Give the temporary file the mode (and group) of the file it replaces.

    ``mkstemp`` creates files readable by the owner only; renamed as they are,
    every write would make a shared coder file 0600. A new file gets the
    usual mode of the user's umask.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        os.chmod(tmp, 0o666 & ~_UMASK)
        return
    os.chmod(tmp, st.st_mode & 0o7777)
    if hasattr(os, "chown"):
        try:
            os.chown(tmp, -1, st.st_gid)
        except OSError:
            pass  # not a member of that group: the mode is still kept


def _write_temp(path: Path, data: bytes | str, fsync: bool) -> str:
    """Write ``data`` to a new temporary file beside ``path``; return its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        _keep_mode(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def atomic_write(path: str | Path, data: bytes | str, fsync: bool = True) -> Path:
    """Replace ``path`` with ``data`` (str is written as UTF-8) in one step.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> atomic_write(target, "été\\n").read_text(encoding="utf-8")
    'été\\n'
    """
    path = Path(path)
    tmp = _write_temp(path, data, fsync)
    try:
        step(f"temp {path.name}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    if fsync:
        _fsync_dir(path.parent)
    step(f"rename {path.name}")
    return path


def journals(folder: str | Path) -> list[Path]:
    """The journals of multi-file writes left in ``folder`` (normally none)."""
    folder = Path(folder)
    return sorted(folder.glob(".*" + JOURNAL_SUFFIX)) if folder.is_dir() else []


def journal_plan(journal: Path) -> list[tuple[str, str]]:
    """``(temporary file, target)`` names of a journal; an unreadable journal has none."""
    try:
        plan = json.loads(Path(journal).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    out = []
    for entry in plan if isinstance(plan, list) else []:
        if not isinstance(entry, dict):
            continue
        tmp, target = str(entry.get("temp", "")), str(entry.get("target", ""))
        # a journal only ever names files of its own folder
        if tmp and target and "/" not in tmp + target and "\\" not in tmp + target \
                and tmp not in (".", "..") and target not in (".", ".."):
            out.append((tmp, target))
    return out


def atomic_write_many(contents: dict, fsync: bool = True) -> None:
    """Replace several files of one folder together: after a crash, all old or all new.

    Every temporary file is written before the first rename; if writing any of
    them fails, none changes. The list of renames is then written to a journal
    (itself atomically) and the renames done; :func:`replay` finishes them
    after a crash (the next open of the store does).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write_many({folder / "A.jsonl": "a\\n", folder / "B.jsonl": b"b\\n"})
    >>> sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    ['A.jsonl', 'B.jsonl']
    """
    items = [(Path(p), d) for p, d in contents.items()]
    if not items:
        return
    if len(items) == 1:
        atomic_write(items[0][0], items[0][1], fsync)
        return
    if len({p.parent.resolve() for p, _ in items}) != 1:
        _replace_in_order(items, fsync)
        return
    folder = items[0][0].parent
    temps: list[tuple[str, Path]] = []
    journal = journal_lock = None
    try:
        for path, data in items:
            temps.append((_write_temp(path, data, fsync), path))
            step(f"temp {path.name}")
        # The journal is written in place, under the folder's journal lock: a
        # journal cut short by a crash does not parse, which can only mean that
        # no rename had started (see replay).
        journal_lock = _journal_lock(folder)
        journal_lock.acquire()
        fd, name = tempfile.mkstemp(prefix=".", suffix=JOURNAL_SUFFIX, dir=folder)
        journal = Path(name)
        plan = [{"temp": Path(t).name, "target": p.name} for t, p in temps]
        with os.fdopen(fd, "wb") as fh:
            fh.write(json.dumps(plan, ensure_ascii=False).encode("utf-8"))
            step("journal partly written")
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        if fsync:
            _fsync_dir(folder)
        step("journal written")
        for tmp, path in temps:
            os.replace(tmp, path)
            step(f"rename {path.name}")
        if fsync:
            _fsync_dir(folder)
        temps = []
        journal.unlink()
        journal_lock.release()
        step("journal removed")
    finally:
        if journal_lock is not None and journal_lock.is_locked:
            journal_lock.release()
        if journal is None or not journal.exists():
            for tmp, _ in temps:
                if os.path.exists(tmp):
                    os.unlink(tmp)


def _replace_in_order(items: list[tuple[Path, bytes | str]], fsync: bool) -> None:
    """Files of several folders: every temporary file written before the first rename.

    A failure while writing leaves every file as it was; the renames that
    follow cannot fail for want of space, but a crash between two of them is
    not replayed (no journal spans folders): the coder files, which must be
    all-or-nothing, always sit in one folder.
    """
    temps: list[tuple[str, Path]] = []
    try:
        for path, data in items:
            temps.append((_write_temp(path, data, fsync), path))
            step(f"temp {path.name}")
        while temps:
            tmp, path = temps[0]
            os.replace(tmp, path)
            temps.pop(0)
            if fsync:
                _fsync_dir(path.parent)
            step(f"rename {path.name}")
    finally:
        for tmp, _ in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)


def replay(journal: str | Path) -> list[str]:
    """Finish the renames of an interrupted :func:`atomic_write_many`; return the files switched.

    A journal that does not parse was cut short before any rename: it is
    dropped (its temporary files are then stale). The caller holds the locks
    of the journal's targets.
    """
    journal = Path(journal)
    folder = journal.parent
    done = []
    with _journal_lock(folder):
        if not journal.is_file():
            return []
        for tmp, target in journal_plan(journal):
            if (folder / tmp).is_file():
                os.replace(folder / tmp, folder / target)
                done.append(target)
        _fsync_dir(folder)
        journal.unlink()
    return done


def _journal_lock(folder: Path):
    from filelock import FileLock
    return FileLock(str(Path(folder) / ".journal.lock"), timeout=120)


def clean_temps(path: str | Path) -> list[str]:
    """Remove the temporary files a killed writer left beside ``path``; return their names.

    The caller holds the lock of ``path`` (every writer of it does, so no
    temporary file of a live writer is removed); a temporary file a journal
    still names is left for :func:`replay`.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return []
    pending = {tmp for j in journals(path.parent) for tmp, _ in journal_plan(j)}
    gone = []
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        if tmp.name in pending:
            continue
        try:
            tmp.unlink()
            gone.append(tmp.name)
        except OSError:
            pass
    return gone


# --------------------------------------------------------------------------- several folders

ACROSS_SUFFIX = ".across" + JOURNAL_SUFFIX


def _inside(root: Path, rel: str) -> Path | None:
    """``root / rel`` when ``rel`` is a relative path that stays inside ``root`` (else None)."""
    parts = Path(rel).parts
    if not rel or Path(rel).is_absolute() or ".." in parts or "\\" in rel:
        return None
    return root / rel


def atomic_write_across(contents: dict, root: str | Path, fsync: bool = True) -> None:
    """Replace files of several folders under ``root`` together: after a crash, all old or all new.

    The journal (``root/.<id>.across.journal.json``) is written before any
    temporary file (*prepare*: the names they will have), then again once they
    are all written (*commit*); the renames follow, then the journal is removed.
    :func:`recover_across` undoes a prepared write and finishes a committed one.
    Files outside ``root`` cannot be journalled: they are replaced in order
    (every temporary file written before the first rename).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write_across({root / "a" / "x.md": "x\\n", root / "b" / "y.yaml": "y\\n"}, root)
    >>> (root / "b" / "y.yaml").read_text()
    'y\\n'
    """
    import uuid

    root = Path(root)
    items = [(Path(p), d) for p, d in contents.items()]
    if not items:
        return
    try:
        rels = [str(p.resolve().relative_to(root.resolve())) for p, _ in items]
    except ValueError:
        _replace_in_order(items, fsync)
        return
    token = uuid.uuid4().hex[:12]
    journal = root / f".{token}{ACROSS_SUFFIX}"
    plan = [{"temp": str(Path(rel).parent / f".{Path(rel).name}.{token}.tmp"), "target": rel} for rel in rels]
    with _journal_lock(root):
        atomic_write(journal, json.dumps({"state": "prepare", "files": plan}, ensure_ascii=False), fsync)
        try:
            for entry, (path, data) in zip(plan, items):
                tmp = root / entry["temp"]
                tmp.parent.mkdir(parents=True, exist_ok=True)
                payload = data.encode("utf-8") if isinstance(data, str) else data
                with open(tmp, "xb") as fh:
                    fh.write(payload)
                    if fsync:
                        fh.flush()
                        os.fsync(fh.fileno())
                _keep_mode(str(tmp), path)
                step(f"temp {path.name}")
        except BaseException:
            _roll_back(root, plan, journal)
            raise
        atomic_write(journal, json.dumps({"state": "commit", "files": plan}, ensure_ascii=False), fsync)
        _finish(root, plan, journal, fsync)


def _roll_back(root: Path, plan: list[dict], journal: Path) -> None:
    for entry in plan:
        tmp = _inside(root, str(entry.get("temp", "")))
        if tmp is not None and tmp.name.endswith(".tmp"):
            tmp.unlink(missing_ok=True)
    journal.unlink(missing_ok=True)
    step("journal removed")


def _finish(root: Path, plan: list[dict], journal: Path, fsync: bool = True) -> list[str]:
    done = []
    for entry in plan:
        tmp, target = _inside(root, str(entry.get("temp", ""))), _inside(root, str(entry.get("target", "")))
        if tmp is None or target is None or not tmp.name.endswith(".tmp"):
            continue
        if tmp.is_file():
            os.replace(tmp, target)
            if fsync:
                _fsync_dir(target.parent)
            done.append(str(entry["target"]))
            step(f"rename {target.name}")
    journal.unlink(missing_ok=True)
    if fsync:
        _fsync_dir(root)
    step("journal removed")
    return done


def across_journals(root: str | Path) -> list[Path]:
    """The journals of :func:`atomic_write_across` left in ``root`` (normally none)."""
    root = Path(root)
    return sorted(root.glob(".*" + ACROSS_SUFFIX)) if root.is_dir() else []


def across_targets(journal: Path) -> list[Path]:
    """The files a journal of :func:`atomic_write_across` replaces (for the caller to lock them)."""
    try:
        plan = json.loads(Path(journal).read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        return []
    out = [_inside(journal.parent, str(e.get("target", ""))) for e in plan if isinstance(e, dict)]
    return [p for p in out if p is not None]


def recover_across(root: str | Path) -> list[str]:
    """Finish the committed writes of :func:`atomic_write_across` in ``root``, undo the prepared ones.

    Returns the files switched. The caller holds the locks the writer held
    (the coder files' ones, for a project import).
    """
    root = Path(root)
    done: list[str] = []
    if not across_journals(root) and not any(root.glob(".*" + ACROSS_SUFFIX + ".*.tmp")):
        return done
    with _journal_lock(root):
        for stale in root.glob(".*" + ACROSS_SUFFIX + ".*.tmp"):   # a journal cut short while written
            stale.unlink(missing_ok=True)
        for journal in across_journals(root):
            try:
                record = json.loads(journal.read_text(encoding="utf-8"))
                state, plan = record["state"], [e for e in record["files"] if isinstance(e, dict)]
            except (OSError, ValueError, KeyError, TypeError):
                journal.unlink(missing_ok=True)
                continue
            if state == "commit":
                done += _finish(root, plan, journal)
            else:
                _roll_back(root, plan, journal)
    return done
