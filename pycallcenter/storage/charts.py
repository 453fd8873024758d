"""Report charts: inline SVG (grouped bars, pie) written here with no library, for HTML and .svg files;
PNG through matplotlib (Agg, no display needed), the optional ``charts`` extra."""
import html
import math

COLOURS = ("#2b6cb0", "#38a169", "#e53e3e", "#d69e2e", "#805ad5", "#319795")


def svg_bars(title, labels, series, width=720, height=300, percent=False):
    """Return an SVG grouped bar chart: labels along x, series {name: values} as coloured bars."""
    left, right, top, bottom = 50, 10, 30, 40
    pw, ph = width - left - right, height - top - bottom
    vmax = max([v for vs in series.values() for v in vs if v is not None] + [1e-9])
    vmax = 1.0 if percent else _nice(vmax)
    n, k = max(len(labels), 1), max(len(series), 1)
    slot = pw / n
    bw = slot * 0.8 / k
    e = html.escape
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="18" text-anchor="middle" font-family="sans-serif" font-size="14">{e(title)}</text>']
    for i in range(5):
        v = vmax * i / 4
        y = top + ph - ph * i / 4
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>')
        tick = f"{100 * v:.0f}%" if percent else (f"{v:.0f}" if vmax >= 4 else f"{v:.1f}")
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-family="sans-serif" font-size="10">{tick}</text>')
    for s, (name, values) in enumerate(series.items()):
        colour = COLOURS[s % len(COLOURS)]
        for i, v in enumerate(values):
            if v is None:
                continue
            h = ph * v / vmax
            x = left + i * slot + slot * 0.1 + s * bw
            out.append(f'<rect class="bar" x="{x:.1f}" y="{top + ph - h:.1f}" width="{bw:.1f}" height="{h:.1f}" '
                       f'fill="{colour}"><title>{e(name)} {e(labels[i])}: {v:g}</title></rect>')
        lx = left + s * 110
        out.append(f'<rect x="{lx}" y="{height - 14}" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{lx + 14}" y="{height - 5}" font-family="sans-serif" font-size="11">{e(name)}</text>')
    step = max(1, math.ceil(n / 12))
    for i in range(0, len(labels), step):
        out.append(f'<text x="{left + (i + 0.5) * slot:.1f}" y="{top + ph + 14}" text-anchor="middle" '
                   f'font-family="sans-serif" font-size="10">{e(labels[i])}</text>')
    out.append(f'<line x1="{left}" y1="{top + ph}" x2="{width - right}" y2="{top + ph}" stroke="black"/></svg>')
    return "\n".join(out)


def svg_pie(title, parts, size=260, colours=COLOURS):
    """Return an SVG pie chart of parts {name: value} (zero parts left out)."""
    e = html.escape
    items = [(k, v) for k, v in parts.items() if v]
    total = sum(v for _, v in items)
    cx, cy, r = size / 2, size / 2 + 10, size / 2 - 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size + 140}" height="{size + 20}">',
           f'<rect width="{size + 140}" height="{size + 20}" fill="white"/>',
           f'<text x="{cx}" y="16" text-anchor="middle" font-family="sans-serif" font-size="14">{e(title)}</text>']
    angle = -math.pi / 2
    for i, (name, v) in enumerate(items):
        colour = colours[i % len(colours)]
        if v == total:
            out.append(f'<circle class="slice" cx="{cx}" cy="{cy}" r="{r}" fill="{colour}"/>')
        else:
            a2 = angle + 2 * math.pi * v / total
            x1, y1 = cx + r * math.cos(angle), cy + r * math.sin(angle)
            x2, y2 = cx + r * math.cos(a2), cy + r * math.sin(a2)
            large = 1 if a2 - angle > math.pi else 0
            out.append(f'<path class="slice" d="M{cx},{cy} L{x1:.2f},{y1:.2f} A{r},{r} 0 {large} 1 {x2:.2f},{y2:.2f} Z" '
                       f'fill="{colour}"><title>{e(name)}: {v:g}</title></path>')
            angle = a2
        out.append(f'<rect x="{size}" y="{30 + 18 * i}" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{size + 14}" y="{39 + 18 * i}" font-family="sans-serif" font-size="11">'
                   f'{e(name)} {v:g} ({100 * v / total:.0f}%)</text>')
    if not items:
        out.append(f'<text x="{cx}" y="{cy}" text-anchor="middle" font-family="sans-serif" font-size="12">no calls</text>')
    out.append("</svg>")
    return "\n".join(out)


def _nice(v):
    """Return a round axis maximum at or above v."""
    mag = 10 ** math.floor(math.log10(v)) if v > 0 else 1
    for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if v <= m * mag:
            return m * mag
    return 10 * mag


CHARTS_EXTRA = "PNG charts need matplotlib: pip install 'pycallcenter[charts]'"


def png_available():
    """Return True when matplotlib can be imported (the ``charts`` extra is installed)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def png_bars(path, title, labels, series, percent=False, width=720, height=300):
    """Write a grouped bar chart (labels along x, series {name: values}, the SVG charts' colours) to a
    PNG file with matplotlib's Agg backend; ImportError when matplotlib is not installed."""
    import matplotlib

    matplotlib.use("Agg", force=True)  # files only: never look for a display
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    dpi = 100
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    ax = fig.add_subplot()
    n, k = max(len(labels), 1), max(len(series), 1)
    bw = 0.8 / k
    for s, (name, values) in enumerate(series.items()):
        xs = [i - 0.4 + bw * (s + 0.5) for i in range(len(values))]
        ax.bar(xs, [0 if v is None else v for v in values], width=bw, label=name, color=COLOURS[s % len(COLOURS)])
    step = max(1, math.ceil(n / 12))
    ax.set_xticks(range(0, len(labels), step), [labels[i] for i in range(0, len(labels), step)], fontsize=8)
    if percent:
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title(title, fontsize=11)
    ax.grid(axis="y", color="#dddddd")
    ax.set_axisbelow(True)
    if series:
        ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, format="png")
