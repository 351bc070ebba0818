"""Server-rendered SVG charts: publications per year, stacked by theme. No JavaScript, no
third-party script; each chart has a text summary and sits beside a table of the same figures."""

from __future__ import annotations

from markupsafe import Markup, escape

# GOV.UK colours with at least 3:1 contrast against white (WCAG 1.4.11), in the taxonomy's order.
# One colour per theme (18 themes and "no theme"), GOV.UK's palette first.
PALETTE = ("#1d70b8", "#00703c", "#d4351c", "#4c2c92", "#d53880", "#003078", "#6f72af", "#505a5f", "#912b88",
           "#5f6b00", "#f47738", "#28a197", "#85994b", "#b58840", "#5694ca", "#f499be", "#6f777b", "#942514",
           "#0b0c0c")
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 260, 36, 28, 12


def colours(theme_ids: list[str]) -> dict[str, str]:
    return {theme_id: PALETTE[i % len(PALETTE)] for i, theme_id in enumerate(theme_ids)}


def year_chart(by_year: dict[str, dict[str, int]], theme_ids: list[str], labels: dict[str, str],
               title_id: str) -> Markup:
    """A stacked bar chart: one bar per year, a segment per theme. ``title_id`` labels it (a heading's id)."""
    years = list(by_year)
    if not years:
        return Markup("")
    palette = colours(theme_ids)
    peak = max(sum(counts.values()) for counts in by_year.values()) or 1
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    slot = plot_w / len(years)
    bar = min(56.0, slot * 0.6)
    parts = [Markup('<svg class="app-chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
                    'aria-labelledby="{t} {t}-desc" focusable="false" font-family="arial, sans-serif">')
             .format(w=WIDTH, h=HEIGHT, t=title_id)]
    total = sum(sum(c.values()) for c in by_year.values())
    busiest = max(years, key=lambda y: sum(by_year[y].values()))
    parts.append(Markup('<desc id="{}-desc">{}</desc>').format(
        title_id, f"{total} theme tags on publications from {years[0]} to {years[-1]}; most in {busiest}. "
                  "The table that follows gives every figure."))
    for tick in sorted({0, peak // 2, peak}):
        y = TOP + plot_h - plot_h * tick / peak
        parts.append(Markup('<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="#b1b4b6" stroke-width="1"/>'
                            '<text x="{}" y="{:.1f}" font-size="12" text-anchor="end" fill="#0b0c0c">{}</text>')
                     .format(LEFT, WIDTH - 8, y, y, LEFT - 6, y + 4, tick))
    for i, year in enumerate(years):
        x = LEFT + slot * i + (slot - bar) / 2
        base: float = TOP + plot_h
        for theme_id in [*theme_ids, "other"]:
            count = by_year[year].get(theme_id, 0)
            if not count:
                continue
            h = plot_h * count / peak
            base -= h
            parts.append(Markup('<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}">'
                                '<title>{}: {} in {}</title></rect>')
                         .format(x, base, bar, h, palette.get(theme_id, "#b1b4b6"), labels.get(theme_id, theme_id),
                                 count, year))
        parts.append(Markup('<text x="{:.1f}" y="{}" font-size="12" text-anchor="middle" fill="#0b0c0c">{}</text>')
                     .format(x + bar / 2, HEIGHT - 8, escape(year)))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
