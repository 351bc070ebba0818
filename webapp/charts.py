"""Server-rendered SVG charts: sources per year, stacked by type of source (each source counts once), and
inspection grades over time. No JavaScript, no third-party script; each chart has a text summary and sits
beside a table of the same figures."""

from __future__ import annotations

from markupsafe import Markup, escape

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


def year_chart(counts: YearCounts, title_id: str) -> Markup:
    """A bar per year of sources of known date, stacked by type of source: each source is one type, so a bar's
    height is its number of sources. ``title_id`` labels it (a heading's id). Undated sources are not drawn
    (the figure's text and table give them)."""
    years = counts.years
    if not years:
        return Markup("")
    order = type_order(counts)
    palette = colours(order)
    labels = counts.type_labels
    peak = max(counts.sources(y) for y in years) or 1
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    slot = plot_w / len(years)
    bar = min(56.0, slot * 0.6)
    parts = [Markup('<svg class="app-chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
                    'aria-labelledby="{t} {t}-desc" focusable="false" font-family="arial, sans-serif">')
             .format(w=WIDTH, h=HEIGHT, t=title_id)]
    busiest = max(years, key=counts.sources)
    dated = counts.dated
    undated = (f" {counts.undated} more {'has' if counts.undated == 1 else 'have'} no known date and "
               f"{'is' if counts.undated == 1 else 'are'} counted in the table only." if counts.undated else "")
    parts.append(Markup('<desc id="{}-desc">{}</desc>').format(
        title_id, f"{dated} source{'' if dated == 1 else 's'} published from {years[0]} to {years[-1]}, most in "
                  f"{busiest}; each bar is one year's sources, divided by type of source.{undated} "
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
            count = counts.by_type[year].get(slug, 0)
            if not count:
                continue
            h = plot_h * count / peak
            base -= h
            parts.append(Markup('<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}">'
                                '<title>{}: {} in {}</title></rect>')
                         .format(x, base, bar, h, palette[slug], labels.get(slug, slug), count, year))
        parts.append(Markup('<text x="{:.1f}" y="{}" font-size="12" text-anchor="middle" fill="#0b0c0c">{}</text>')
                     .format(x + bar / 2, HEIGHT - 8, escape(year)))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


# Overall effectiveness, best at the top.
GRADE_ROWS = ("outstanding", "good", "requires improvement", "inadequate")
GRADE_LEFT = 150


def grade_chart(series: dict[str, list[tuple[str, str]]], title_id: str) -> Markup:
    """Each council's overall effectiveness at each inspection: a line per council across the years, a
    grade per row. ``series`` is ``{council: [(published ISO date, grade), ...]}`` oldest first; grades
    outside Ofsted's four words are left out. ``title_id`` labels it (a heading's id)."""
    points = {name: [(date, grade) for date, grade in items if grade in GRADE_ROWS and date]
              for name, items in series.items()}
    points = {name: items for name, items in points.items() if items}
    if not points:
        return Markup("")
    years = [int(date[:4]) for items in points.values() for date, _ in items]
    first, last = min(years), max(years) + 1
    plot_w, plot_h = WIDTH - GRADE_LEFT - 16, HEIGHT - BOTTOM - TOP
    row_h = plot_h / len(GRADE_ROWS)

    def x_of(date: str) -> float:
        month = int(date[5:7]) if len(date) >= 7 else 6
        return GRADE_LEFT + plot_w * (int(date[:4]) - first + (month - 0.5) / 12) / (last - first)

    def y_of(grade: str) -> float:
        return TOP + row_h * (GRADE_ROWS.index(grade) + 0.5)

    count = sum(len(items) for items in points.values())
    parts = [Markup('<svg class="app-chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
                    'aria-labelledby="{t} {t}-desc" focusable="false" font-family="arial, sans-serif">')
             .format(w=WIDTH, h=HEIGHT, t=title_id),
             Markup('<desc id="{}-desc">{}</desc>').format(
                 title_id, f"Overall effectiveness at {count} inspection{'' if count == 1 else 's'} of "
                           f"{len(points)} council{'' if len(points) == 1 else 's'}, {first} to {last - 1}. "
                           "The table that follows gives every judgement.")]
    for grade in GRADE_ROWS:
        y = y_of(grade)
        parts.append(Markup('<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="#b1b4b6" stroke-width="1"/>'
                            '<text x="{}" y="{:.1f}" font-size="12" text-anchor="end" fill="#0b0c0c">{}</text>')
                     .format(GRADE_LEFT, WIDTH - 16, y, y, GRADE_LEFT - 6, y + 4, grade.capitalize()))
    step = max(1, (last - first) // 8)
    for year in range(first, last, step):
        parts.append(Markup('<text x="{:.1f}" y="{}" font-size="12" text-anchor="middle" fill="#0b0c0c">{}</text>')
                     .format(x_of(f"{year}-06"), HEIGHT - 8, year))
    for i, (name, items) in enumerate(sorted(points.items())):
        colour = PALETTE[i % len(PALETTE)]
        xy = [(x_of(date), y_of(grade), date, grade) for date, grade in items]
        if len(xy) > 1:
            parts.append(Markup('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>').format(
                colour, " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in xy)))
        for x, y, date, grade in xy:
            parts.append(Markup('<circle cx="{:.1f}" cy="{:.1f}" r="5" fill="{}"><title>{}, {}: {}</title></circle>')
                         .format(x, y, colour, name, date, grade))
        # The name by its latest point, to the left of it in the right-hand half so it stays inside the chart.
        x, y, _, _ = xy[-1]
        right = x > GRADE_LEFT + plot_w / 2
        parts.append(Markup('<text x="{:.1f}" y="{:.1f}" font-size="12" text-anchor="{}" fill="#0b0c0c">{}</text>')
                     .format(x - 7 if right else x + 7, y - 9, "end" if right else "start", name))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
