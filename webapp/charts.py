"""Server-rendered SVG charts: sources per year, stacked by type of source (each source counts once), and
inspection grades over time. No JavaScript, no third-party script; each chart has a text summary and sits
beside a table of the same figures."""

from __future__ import annotations

from markupsafe import Markup

from index.browse.catalogue import YearCounts

# GOV.UK colours with at least 3:1 contrast against white (WCAG 1.4.11), in the taxonomy's order.
# One colour per series (types of source, councils), GOV.UK's palette first.
PALETTE = ("#1d70b8", "#00703c", "#d4351c", "#4c2c92", "#d53880", "#003078", "#6f72af", "#505a5f", "#912b88",
           "#5f6b00", "#f47738", "#28a197", "#85994b", "#b58840", "#5694ca", "#f499be", "#6f777b", "#942514",
           "#0b0c0c")
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 260, 36, 28, 12


def colours(keys: list[str]) -> dict[str, str]:
    return {key: PALETTE[i % len(PALETTE)] for i, key in enumerate(keys)}


def type_order(counts: YearCounts) -> list[str]:
    """The types of source that occur, most sources first (then by label): the chart's stacking order."""
    totals: dict[str, int] = {}
    for by_type in counts.by_type.values():
        for slug, n in by_type.items():
            totals[slug] = totals.get(slug, 0) + n
    return sorted(totals, key=lambda slug: (-totals[slug], counts.type_labels.get(slug, slug)))


def _year_label(x: float, year: int | str, slot: float, height: int) -> Markup:
    """A year under its bar or band: across when it fits its slot, else upright (the label's box stays within
    its slot, so no two touch)."""
    if slot >= YEAR_LABEL_W:
        return Markup('<text x="{:.1f}" y="{}" font-size="12" text-anchor="middle" fill="#0b0c0c">{}</text>').format(
            x, height - 8, year)
    return Markup('<text x="{x:.1f}" y="{y}" font-size="11" text-anchor="end" dominant-baseline="middle" '
                  'fill="#0b0c0c" transform="rotate(-90 {x:.1f} {y})">{year}</text>').format(
        x=x, y=height - ROTATED_BOTTOM + 6, year=year)


def year_chart(counts: YearCounts, title_id: str) -> Markup:
    """A bar per year of sources of known date, stacked by type of source: each source is one type, so a bar's
    height is its number of sources. Every year from the first to the last has its place and its label, a year
    without sources an empty one (issue 26: the axis skipped them). ``title_id`` labels it (a heading's id).
    Undated sources are not drawn (the figure's text and table give them)."""
    if not counts.years:
        return Markup("")
    years = [str(y) for y in range(int(counts.years[0]), int(counts.years[-1]) + 1)]
    order = type_order(counts)
    palette = colours(order)
    labels = counts.type_labels
    peak = max(counts.sources(y) for y in years) or 1
    plot_w = WIDTH - LEFT - 8
    slot = plot_w / len(years)
    bottom = BOTTOM if slot >= YEAR_LABEL_W else ROTATED_BOTTOM
    height = HEIGHT - BOTTOM + bottom
    plot_h = height - bottom - TOP
    bar = min(56.0, slot * 0.6)
    parts = [Markup('<svg class="app-chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
                    'aria-labelledby="{t} {t}-desc" focusable="false" font-family="arial, sans-serif">')
             .format(w=WIDTH, h=height, t=title_id)]
    busiest = max(years, key=counts.sources)
    dated = counts.dated
    empty = [y for y in years if not counts.sources(y)]
    gaps = (f" No source is from {_listed(empty)}." if empty else "")
    undated = (f" {counts.undated} more {'has' if counts.undated == 1 else 'have'} no known date and "
               f"{'is' if counts.undated == 1 else 'are'} counted in the table only." if counts.undated else "")
    parts.append(Markup('<desc id="{}-desc">{}</desc>').format(
        title_id, f"{dated} source{'' if dated == 1 else 's'} published from {years[0]} to {years[-1]}, most in "
                  f"{busiest}; each bar is one year's sources, divided by type of source.{gaps}{undated} "
                  "The table that follows gives every figure."))
    for tick in sorted({0, peak // 2, peak}):
        y = TOP + plot_h - plot_h * tick / peak
        parts.append(Markup('<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="#b1b4b6" stroke-width="1"/>'
                            '<text x="{}" y="{:.1f}" font-size="12" text-anchor="end" fill="#0b0c0c">{}</text>')
                     .format(LEFT, WIDTH - 8, y, y, LEFT - 6, y + 4, tick))
    for i, year in enumerate(years):
        x = LEFT + slot * i + (slot - bar) / 2
        base: float = TOP + plot_h
        for slug in order:
            count = counts.by_type.get(year, {}).get(slug, 0)
            if not count:
                continue
            h = plot_h * count / peak
            base -= h
            parts.append(Markup('<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}">'
                                '<title>{}: {} in {}</title></rect>')
                         .format(x, base, bar, h, palette[slug], labels.get(slug, slug), count, year))
        # A tick under each year's place, so that an empty year reads as a year with none, not a gap.
        parts.append(Markup('<line x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y2}" stroke="#505a5f" stroke-width="1"/>')
                     .format(x=x + bar / 2, y=TOP + plot_h, y2=TOP + plot_h + 4))
        parts.append(_year_label(x + bar / 2, year, slot, height))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def _listed(years: list[str]) -> str:
    return years[0] if len(years) == 1 else ", ".join(years[:-1]) + " or " + years[-1]


# Overall effectiveness, best at the top.
GRADE_ROWS = ("outstanding", "good", "requires improvement", "inadequate")
GRADE_LEFT = 150
# The width an upright-less year label needs ("2023" at 12 px, with room), and the bottom margin for upright ones.
YEAR_LABEL_W = 34
ROTATED_BOTTOM = 44
# A council's name is placed by its latest point where it overlaps nothing drawn; its width is estimated at
# CHAR_W per character (Arial 12 px averages under 7 px), with PAD around it.
CHAR_W, PAD, LABEL_H = 7.2, 2.0, 14.0
POINT_R = 5.0


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def grade_chart(series: dict[str, list[tuple[str, str]]], title_id: str) -> Markup:
    """Each council's overall effectiveness at each inspection: a line per council across the years, a
    grade per row. ``series`` is ``{council: [(published ISO date, grade), ...]}`` oldest first; grades
    outside Ofsted's four words are left out. ``title_id`` labels it (a heading's id).

    The x axis is time: a tick at each 1 January, every year labelled in the middle of its band, a point at
    its date within the year (January 2023 sits just right of the 2023 tick). Points of two councils at the
    same place are set side by side; each council's name goes by its latest point where it overlaps no other
    label, point or axis text (issue 26), or failing that in a key under the chart."""
    points = {name: [(date, grade) for date, grade in items if grade in GRADE_ROWS and date]
              for name, items in series.items()}
    points = {name: items for name, items in points.items() if items}
    if not points:
        return Markup("")
    years = [int(date[:4]) for items in points.values() for date, _ in items]
    first, last = min(years), max(years) + 1  # bands from 1 January of first to 1 January of last
    plot_w = WIDTH - GRADE_LEFT - 16
    band = plot_w / (last - first)
    bottom = BOTTOM if band >= YEAR_LABEL_W else ROTATED_BOTTOM
    plot_h = HEIGHT - BOTTOM - TOP
    row_h = plot_h / len(GRADE_ROWS)

    def x_of(date: str) -> float:
        month = int(date[5:7]) if len(date) >= 7 and date[5:7].isdigit() else 7
        day = int(date[8:10]) if len(date) >= 10 and date[8:10].isdigit() else 1
        return GRADE_LEFT + band * (int(date[:4]) - first + (month - 1 + (day - 1) / 31) / 12)

    def y_of(grade: str) -> float:
        return TOP + row_h * (GRADE_ROWS.index(grade) + 0.5)

    # Where each point goes: councils at the same place (same grade, within a point's width) side by side.
    placed: dict[str, list[tuple[float, float, str, str]]] = {}
    taken: list[tuple[float, float]] = []
    for name, items in sorted(points.items()):
        placed[name] = []
        for date, grade in items:
            x, y = x_of(date), y_of(grade)
            while any(abs(x - tx) < 2 * POINT_R + 1 and ty == y for tx, ty in taken):
                x += 2 * POINT_R + 2
            taken.append((x, y))
            placed[name].append((x, y, date, grade))

    count = sum(len(items) for items in points.values())
    parts: list[Markup] = []
    boxes: list[tuple[float, float, float, float]] = []  # everything drawn a label must not overlap
    for grade in GRADE_ROWS:
        y = y_of(grade)
        parts.append(Markup('<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="#b1b4b6" stroke-width="1"/>'
                            '<text x="{}" y="{:.1f}" font-size="12" text-anchor="end" fill="#0b0c0c">{}</text>')
                     .format(GRADE_LEFT, WIDTH - 16, y, y, GRADE_LEFT - 6, y + 4, grade.capitalize()))
    axis_y = TOP + plot_h
    for year in range(first, last + 1):
        x = GRADE_LEFT + band * (year - first)
        parts.append(Markup('<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{y2}" stroke="#b1b4b6" '
                            'stroke-width="1" stroke-dasharray="2 3"/>'
                            '<line x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y2}" stroke="#505a5f" stroke-width="1"/>')
                     .format(x=x, top=TOP, y=axis_y, y2=axis_y + 6))
        if year < last:
            parts.append(_year_label(x + band / 2, year, band, HEIGHT - BOTTOM + bottom))
    for x, y in taken:
        boxes.append((x - POINT_R - 1, y - POINT_R - 1, x + POINT_R + 1, y + POINT_R + 1))
    key: list[tuple[str, str]] = []
    labels: list[Markup] = []
    for i, (name, xy) in enumerate(sorted(placed.items())):
        colour = PALETTE[i % len(PALETTE)]
        if len(xy) > 1:
            parts.append(Markup('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>').format(
                colour, " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in xy)))
        for x, y, date, grade in xy:
            parts.append(Markup('<circle cx="{:.1f}" cy="{:.1f}" r="{}" fill="{}"><title>{}, {}: {}</title></circle>')
                         .format(x, y, POINT_R, colour, name, date, grade))
        x, y, _, _ = xy[-1]
        width = len(name) * CHAR_W
        spot = None
        for dy in (-9.0, 17.0, -23.0, 31.0, -37.0, 45.0):
            for side in ("end", "start") if x > GRADE_LEFT + plot_w / 2 else ("start", "end"):
                left = x - 7 - width if side == "end" else x + 7
                box = (left - PAD, y + dy - LABEL_H + 3 - PAD, left + width + PAD, y + dy + 3 + PAD)
                if box[0] < GRADE_LEFT or box[2] > WIDTH - 2 or box[1] < 0 or box[3] > axis_y:
                    continue
                if not any(_overlaps(box, other) for other in boxes):
                    spot = (left, y + dy, box)
                    break
            if spot:
                break
        if spot is None:
            key.append((name, colour))
            continue
        left, baseline, box = spot
        boxes.append(box)
        labels.append(Markup('<text x="{:.1f}" y="{:.1f}" font-size="12" fill="#0b0c0c" stroke="#ffffff" '
                             'stroke-width="3" paint-order="stroke">{}</text>').format(left, baseline, name))
    height = HEIGHT - BOTTOM + bottom + (int(LABEL_H + 6) * len(key) if key else 0)
    for row, (name, colour) in enumerate(key):
        y = HEIGHT - BOTTOM + bottom + row * (LABEL_H + 6) + 10
        labels.append(Markup('<circle cx="{}" cy="{}" r="{}" fill="{}"/><text x="{}" y="{}" font-size="12" '
                             'fill="#0b0c0c">{}</text>').format(GRADE_LEFT + POINT_R, y, POINT_R, colour,
                                                               GRADE_LEFT + 3 * POINT_R, y + 4, name))
    head = [Markup('<svg class="app-chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
                   'aria-labelledby="{t} {t}-desc" focusable="false" font-family="arial, sans-serif">')
            .format(w=WIDTH, h=height, t=title_id),
            Markup('<desc id="{}-desc">{}</desc>').format(
                title_id, f"Overall effectiveness at {count} inspection{'' if count == 1 else 's'} of "
                          f"{len(points)} council{'' if len(points) == 1 else 's'}, {first} to {last - 1}. "
                          "The table that follows gives every judgement.")]
    return Markup("").join([*head, *parts, *labels, Markup("</svg>")])
