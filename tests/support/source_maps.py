"""Reading source maps (version 3): the build's development bundle (tests) and where the bytes
of a minified bundle come from (bench/sizes.py)."""

from __future__ import annotations

BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'


def decode_vlq(segment: str) -> list[int]:
    """The numbers of one mapping segment (base64 VLQ)."""
    values, shift, value = [], 0, 0
    for char in segment:
        digit = BASE64.index(char)
        value += (digit & 31) << shift
        if digit & 32:
            shift += 5
        else:
            values.append(-(value >> 1) if value & 1 else value >> 1)
            shift, value = 0, 0
    return values


def segments(source_map: dict):
    """Each mapping as (generated line, generated column, source index or None, original line),
    in order; the indexes are running sums across the whole map, as the format says."""
    source = original = 0
    for line, text in enumerate(source_map['mappings'].split(';')):
        column = 0
        for segment in filter(None, text.split(',')):
            fields = decode_vlq(segment)
            column += fields[0]
            if len(fields) >= 4:
                source += fields[1]
                original += fields[2]
                yield line, column, source, original
            else:
                yield line, column, None, None


def original_position(source_map: dict, line: int, column: int) -> tuple[str, int] | None:
    """The (source, 1-based line) that generated position (0-based line, column) maps to."""
    best = None
    for at_line, at_column, source, original in segments(source_map):
        if at_line > line:
            break
        if at_line == line and at_column <= column and source is not None:
            best = (source_map['sources'][source], original + 1)
    return best


def bytes_by_source(source_map: dict, code: str) -> dict[str, int]:
    """How many characters of the generated `code` each source made (a mapping's span runs to the
    next mapping on its line, or the line's end); characters no mapping covers are left out."""
    lines = code.split('\n')
    found: dict[str, int] = {}
    previous = None
    for line, column, source, _original in segments(source_map):
        if previous is not None:
            at_line, at_column, at_source = previous
            end = column if line == at_line else len(lines[at_line])
            if at_source is not None:
                name = source_map['sources'][at_source]
                found[name] = found.get(name, 0) + end - at_column
        previous = (line, column, source)
    if previous is not None and previous[2] is not None:
        name = source_map['sources'][previous[2]]
        found[name] = found.get(name, 0) + len(lines[previous[0]]) - previous[1]
    return found
