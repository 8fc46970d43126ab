"""Charts drawn on the server as accessible SVG: no JavaScript, no style attribute (the CSP
forbids inline styles), every label and value written as text in the drawing.

Core knows no feature package: a caller hands over labels and numbers, gets `Markup` back
and shows the same numbers in a real table under the chart (`chart_table` in
templates/_charts.html), so nobody depends on the picture.

- `bar_chart`: horizontal bars, one per label (by clientele, by MRC, progress).
- `column_chart`: vertical columns, one group per label and one column per series (months,
  this year against last year); the series after the first are hatched so they differ by
  more than their colour.

The drawing is `role="img"` with `<title>` and `<desc>` (`aria-labelledby`); its `<desc>`
says the values in words. A bar chart whose bars have links is drawn as `role="group"`
instead, each bar a link named with its label and value (an image cannot hold links).
Colours have at least 3:1 contrast with the white background (WCAG 1.4.11) and text 4.5:1.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from core.i18n import _, format_number

# Fills against white: #0b4f8a 8.6:1, #a04a00 5.9:1, #2e6b30 6.3:1, #6a3d9a 8.1:1.
PALETTE = ("#0b4f8a", "#a04a00", "#2e6b30", "#6a3d9a")
INK = "#1b1f24"  # text, 16:1
GRID = "#6b7682"  # axis and grid lines, 4.6:1
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"

BAR_WIDTH = 640
BAR_ROW = 30
BAR_THICKNESS = 20
LABEL_CHARS = 30
DESC_ITEMS = 24

_ids = itertools.count(1)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    display: str | None = None  # the value as shown; default: the number in the locale
    href: str | None = None


def _clean(value: float) -> float:
    """Negative, NaN and infinite values draw as nothing."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    if math.isnan(number) or math.isinf(number) or number < 0:
        return 0.0
    return number


def _short(label: str, limit: int = LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def _chart_id() -> str:
    return f"chart-{next(_ids)}"


def _text_width(text: str, size: float) -> float:
    """A rough width in user units (system sans-serif digits and letters ≈ 0.6 em)."""
    return len(text) * size * 0.6


def _nice_ceiling(value: float) -> float:
    """The scale's top: the next 1, 2, 2.5 or 5 × 10ⁿ at or above `value`."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _open(
    chart_id: str, width: float, height: float, title: str, desc: str, role: str = "img"
) -> list[Markup]:
    return [
        Markup(
            '<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{id}" role="{role}" '
            'aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {w:g} {h:g}" width="{w:g}" '
            'height="{h:g}" font-family="{font}" font-size="13" fill="{ink}">'
            '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>'
        ).format(
            id=chart_id, role=role, w=width, h=height, font=FONT, ink=INK, title=title, desc=desc
        )
    ]


def _close(parts: list[Markup]) -> Markup:
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def _empty(chart_id: str, title: str, description: str) -> Markup:
    message = _("Aucune donnée pour cette sélection.")
    parts = _open(chart_id, BAR_WIDTH, 48, title, f"{description} {message}".strip())
    parts.append(Markup('<text x="8" y="28">{}</text>').format(message))
    return _close(parts)


def _described(description: str, pairs: Sequence[tuple[str, str]]) -> str:
    """The `<desc>`: the caller's sentence, then « label : valeur » for the first items."""
    said = "; ".join(_("%(label)s : %(value)s", label=k, value=v) for k, v in pairs[:DESC_ITEMS])
    if len(pairs) > DESC_ITEMS:
        said += "; " + _("et %(n)s autres", n=len(pairs) - DESC_ITEMS)
    return " ".join(part for part in (description.strip(), said + "." if said else "") if part)


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    description: str = "",
    max_value: float | None = None,
) -> Markup:
    """Horizontal bars, in the order given, proportional to `max_value` (default: the
    largest value); a value above `max_value` fills the bar and keeps its own number."""
    chart_id = _chart_id()
    if not bars:
        return _empty(chart_id, title, description)
    values = [_clean(bar.value) for bar in bars]
    shown = [bar.display if bar.display is not None else format_number(bar.value) for bar in bars]
    labels = [_short(bar.label) for bar in bars]
    top = _clean(max_value) if max_value is not None else max(values)
    label_width = min(max(_text_width(label, 13) for label in labels) + 12, BAR_WIDTH * 0.4)
    value_room = max(_text_width(text, 13) for text in shown) + 10
    area = BAR_WIDTH - label_width - value_room
    height = len(bars) * BAR_ROW + 8
    linked = any(bar.href for bar in bars)
    pairs = [(bar.label, text) for bar, text in zip(bars, shown, strict=True)]
    parts = _open(
        chart_id,
        BAR_WIDTH,
        height,
        title,
        _described(description, pairs),
        role="group" if linked else "img",
    )
    parts.append(
        Markup(
            '<line x1="{x:g}" y1="2" x2="{x:g}" y2="{y:g}" stroke="{c}" stroke-width="1"/>'
        ).format(x=label_width, y=height - 4, c=GRID)
    )
    for index, bar in enumerate(bars):
        y = 4 + index * BAR_ROW
        length = 0.0 if top <= 0 else min(values[index] / top, 1.0) * area
        row = Markup(
            '<text x="{lx:g}" y="{ty:g}" text-anchor="end">{label}</text>'
            '<rect x="{x:g}" y="{y:g}" width="{len:.1f}" height="{th}" fill="{fill}"/>'
            '<text x="{vx:.1f}" y="{ty:g}" font-weight="600">{value}</text>'
        ).format(
            lx=label_width - 6,
            ty=y + BAR_THICKNESS / 2 + 4.5,
            label=labels[index],
            x=label_width,
            y=y,
            len=length,
            th=BAR_THICKNESS,
            fill=PALETTE[0],
            vx=label_width + length + 6,
            value=shown[index],
        )
        if bar.href:
            name = _("%(label)s : %(value)s", label=bar.label, value=shown[index])
            parts.append(
                Markup(
                    '<a href="{href}" aria-label="{name}"><g aria-hidden="true">{row}</g></a>'
                ).format(href=bar.href, name=name, row=row)
            )
        else:
            parts.append(Markup("<g>{}</g>").format(row))
    return _close(parts)


def _defs(chart_id: str, count: int) -> Markup:
    """One fill per series: plain for the first, hatched (45°, 135°, upright) after."""
    angles = (45, 135, 90)
    patterns = [
        Markup(
            '<pattern id="{id}-s{i}" width="6" height="6" patternUnits="userSpaceOnUse" '
            'patternTransform="rotate({angle})"><rect width="6" height="6" fill="#ffffff"/>'
            '<rect width="3.5" height="6" fill="{colour}"/></pattern>'
        ).format(
            id=chart_id,
            i=index,
            angle=angles[(index - 1) % len(angles)],
            colour=PALETTE[index % len(PALETTE)],
        )
        for index in range(1, count)
    ]
    return Markup("<defs>{}</defs>").format(Markup("").join(patterns)) if patterns else Markup()


def _series_fill(chart_id: str, index: int) -> str:
    return PALETTE[0] if index == 0 else f"url(#{chart_id}-s{index})"


def column_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str,
    description: str = "",
) -> Markup:
    """Vertical columns: a group per label, a column per series (a missing value is 0),
    the value written above each column, a legend naming the series."""
    chart_id = _chart_id()
    if not labels or not series:
        return _empty(chart_id, title, description)
    rows = [[_clean(v) for v in list(values)[: len(labels)]] for _name, values in series]
    rows = [row + [0.0] * (len(labels) - len(row)) for row in rows]
    texts = [[format_number(v) for v in row] for row in rows]
    top = _nice_ceiling(max(max(row) for row in rows))
    value_size = 11.0
    column = max(18.0, max(_text_width(t, value_size) for row in texts for t in row) + 4)
    short_labels = [_short(label, 12) for label in labels]
    group = max(
        column * len(series) + 12, max(_text_width(label, 12) for label in short_labels) + 8
    )
    left, right, top_pad, plot = 48.0, 8.0, 30.0, 180.0
    width = max(BAR_WIDTH, left + right + group * len(labels))
    height = top_pad + plot + 56
    base = top_pad + plot
    pairs = [
        (label, ", ".join(f"{name} {texts[s][i]}" for s, (name, _v) in enumerate(series)))
        for i, label in enumerate(labels)
    ]
    parts = _open(chart_id, width, height, title, _described(description, pairs))
    parts.append(_defs(chart_id, len(series)))
    for step in range(5):  # the scale: 0, ¼, ½, ¾ and the top
        parts.append(
            Markup(
                '<line x1="{l:g}" y1="{y:g}" x2="{r:g}" y2="{y:g}" stroke="{c}" '
                'stroke-width="{sw:g}"/><text x="{tx:g}" y="{ty:g}" text-anchor="end" '
                'font-size="11">{value}</text>'
            ).format(
                l=left,
                r=width - right,
                y=base - plot * step / 4,
                c=GRID,
                sw=1 if step == 0 else 0.5,
                tx=left - 6,
                ty=base - plot * step / 4 + 4,
                value=format_number(top * step / 4),
            )
        )
    for index, label in enumerate(short_labels):
        x0 = left + index * group + (group - column * len(series)) / 2
        cells = []
        for s in range(len(series)):
            tall = plot * min(rows[s][index] / top, 1.0)
            x = x0 + s * column
            cells.append(
                Markup(
                    '<rect x="{x:g}" y="{y:.1f}" width="{w:g}" height="{h:.1f}" fill="{fill}" '
                    'stroke="{stroke}" stroke-width="1"/><text x="{cx:g}" y="{ty:.1f}" '
                    'text-anchor="middle" font-size="{size:g}">{value}</text>'
                ).format(
                    x=x + 1,
                    y=base - tall,
                    w=column - 2,
                    h=tall,
                    fill=_series_fill(chart_id, s),
                    stroke=PALETTE[s % len(PALETTE)],
                    cx=x + column / 2,
                    ty=base - tall - 4,
                    size=value_size,
                    value=texts[s][index],
                )
            )
        cells.append(
            Markup(
                '<text x="{x:g}" y="{y:g}" text-anchor="middle" font-size="12">{label}</text>'
            ).format(x=left + index * group + group / 2, y=base + 18, label=label)
        )
        parts.append(Markup("<g>{}</g>").format(Markup("").join(cells)))
    x = left
    for s, (name, _values) in enumerate(series):
        shown = _short(name, 40)
        parts.append(
            Markup(
                '<rect x="{x:g}" y="{ry:g}" width="14" height="14" fill="{fill}" '
                'stroke="{stroke}"/><text x="{tx:g}" y="{y:g}">{name}</text>'
            ).format(
                x=x,
                ry=base + 29,
                fill=_series_fill(chart_id, s),
                stroke=PALETTE[s % len(PALETTE)],
                tx=x + 20,
                y=base + 40,
                name=shown,
            )
        )
        x += 20 + _text_width(shown, 13) + 24
    return _close(parts)
