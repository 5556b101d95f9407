"""The leaderboard's formats: terminal, markdown, CSV, LaTeX (booktabs), HTML.

Every string that comes from a row or a plugin (model, view, probe and
metric names, option values, notes) goes through the escaping function of
its format before it is written.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import re
from pathlib import Path
from typing import Sequence

from tabulate import tabulate

from ganbench.reports.escape import CSV_QUOTING, terminal
from ganbench.reports.leaderboard import GRID_EDGE_MARK, LABEL_MARK, SECTION_TITLES, TIED_MARK, Table

BEST_MARK = "*"
LEGEND = (f"↑ higher is better · ↓ lower is better · → t closest to t is better · headline: the table's headline "
          f"figure · {BEST_MARK} best of the trained GAN rows (not baselines, not {LABEL_MARK}), ahead of the "
          f"runner-up by a paired test (McNemar or a bootstrap on the per-example predictions, else Welch over "
          f"seeds; p < 0.05) · {TIED_MARK} tied for best: the paired test finds no difference from the top row "
          f"(p ≥ 0.05); no mark: no test possible (see the notes) · mean ± std (n=seeds); n=1: one seed, with the s.d. over "
          f"its label draws where it has some · {GRID_EDGE_MARK} C chosen at the edge of its grid (the optimum may "
          f"lie beyond) · {LABEL_MARK} trained on labels · published figures are the papers' own")


# -- escaping ---------------------------------------------------------------
def escape_md(text: str) -> str:
    """Markdown table cell: pipes and markup characters escaped, newlines made spaces."""
    text = re.sub(r"[\r\n]+", " ", str(text))
    text = html.escape(text, quote=False)  # <script> must not become HTML where markdown is rendered
    return re.sub(r"([\\|`*_\[\]])", r"\\\1", text)


def escape_html(text: str) -> str:
    return html.escape(str(text), quote=True)


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_csv(value):
    """A CSV cell a spreadsheet will not run as a formula: text starting with = + - @ gets a leading '."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
                  "±": r"$\pm$", "↑": r"$\uparrow$", "↓": r"$\downarrow$", "→": r"$\rightarrow$", "†": r"$^\dagger$",
                  "·": r"$\cdot$"}


def escape_latex(text: str) -> str:
    text = re.sub(r"[\r\n]+", " ", str(text))
    return "".join(LATEX_SPECIALS.get(ch, ch) for ch in text)


# -- shared -----------------------------------------------------------------
def _cell_text(row, column, digits: int, best_mark: str = BEST_MARK) -> str:
    cell = row.cells.get(column.key)
    if cell is None:
        return ""
    marked = best_mark and _is_best(row, cell)
    tied = f" {TIED_MARK}" if cell.tied and row.section != "reference" else ""
    return cell.text(digits) + (f" {best_mark}" if marked else "") + tied


def _is_best(row, cell) -> bool:
    return cell is not None and cell.best and row.section != "reference"


def _notes(table: Table) -> list[str]:
    return list(table.notes)


def _wrap(text: str, width: int, measure=len) -> str:
    """Break at spaces, underscores and commas so no line is wider than ``width`` (unless one word is)."""
    lines, line = [], ""
    for token in re.findall(r"[^ _,]+[_,]?| ", text):
        if measure(line + token) > width and line.strip():
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line += token
    if line.strip():
        lines.append(line.rstrip())
    return "\n".join(lines)


# -- terminal ---------------------------------------------------------------
def render_terminal(tables: Sequence[Table], width: int = 120, digits: int = 4) -> str:
    """Plain-text tables no wider than ``width``: long headers wrap, and a table too wide for one
    block is printed as several blocks of columns, each repeating the row labels."""
    out = []
    for table in tables:
        out.append(f"== {terminal(table.title)} ==")
        out.extend(_terminal_blocks(table, width, digits))
        for note in _notes(table):
            out.append(_wrap(f"note: {terminal(note)}", width))
        out.append("")
    # measured in UTF-8 bytes: the arrows take 3 bytes and 2 columns where East Asian widths apply, so the
    # legend fits ``width`` whatever counts the columns
    out.append(_wrap(LEGEND, width, measure=lambda text: len(text.encode())))
    return "\n".join(out)


def _terminal_blocks(table: Table, width: int, digits: int) -> list[str]:
    label_width = min(34, max(12, width // 4))
    body = []
    for section, rows in table.sections():
        if len(table.sections()) > 1:
            body.append((f"-- {SECTION_TITLES[section]} --", None))
        body += [(_wrap(terminal(r.label), label_width), r) for r in rows]  # names escaped: no ESC reaches a terminal
    cells = {}
    for column in table.columns:
        texts = [_cell_text(r, column, digits) if r else "" for _, r in body]
        cell_width = max([len(t) for t in texts] + [10])
        cells[column.key] = (_wrap(terminal(column.title), max(cell_width, 14)), texts)
    extra = [("failed", [terminal(r.failed) if r else "" for _, r in body])] if table.has_failures else []
    columns = [cells[c.key] for c in table.columns] + extra
    blocks, start = [], 0
    while start < len(columns) or not blocks:
        end = start + 1
        text = _tabulate(body, columns[start:end])
        while end < len(columns):
            trial = _tabulate(body, columns[start:end + 1])
            if max(len(line) for line in trial.splitlines()) > width:
                break
            text, end = trial, end + 1
        blocks.append(text)
        start = end
    return blocks


def _tabulate(body, columns) -> str:
    headers = ["model · view"] + [header for header, _ in columns]
    rows = [[label] + [texts[i] for _, texts in columns] for i, (label, _) in enumerate(body)]
    return tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)


# -- markdown ---------------------------------------------------------------
def render_md(tables: Sequence[Table], digits: int = 4) -> str:
    out = []
    for table in tables:
        out.append(f"### {escape_md(table.title)}\n")
        headers = ["model · view"] + [escape_md(c.title) for c in table.columns]
        if table.has_failures:
            headers.append("failed")
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        sections = table.sections()
        for section, rows in sections:
            if len(sections) > 1:
                lines.append("| " + " | ".join([f"*{SECTION_TITLES[section]}*"] + [""] * (len(headers) - 1)) + " |")
            for row in rows:
                values = [escape_md(row.label)]
                for column in table.columns:
                    text = escape_md(_cell_text(row, column, digits, best_mark=""))
                    values.append(f"**{text}**" if _is_best(row, row.cells.get(column.key)) else text)
                if table.has_failures:
                    values.append(escape_md(row.failed))
                lines.append("| " + " | ".join(values) + " |")
        out.append("\n".join(lines))
        notes = _notes(table)
        if notes:
            out.append("\n".join(f"- {escape_md(n)}" for n in notes))
        out.append("")
    out.append(escape_md(LEGEND.replace(f"{BEST_MARK} best", "bold: best")))
    return "\n\n".join(out).replace("\n\n\n", "\n\n") + "\n"


# -- csv --------------------------------------------------------------------
CSV_FIELDS = ["dataset", "section", "model", "view", "row", "probe", "metric", "column", "mean", "std", "n", "best",
              "tied", "draw_std", "draws", "c_at_grid_edge", "failed"]


def _rounded(value, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def render_csv(tables: Sequence[Table], digits: int = 4) -> str:
    """One line per (row, column) cell, plus one per row with failures and no figure; figures rounded to
    ``digits`` as in the other formats."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=CSV_QUOTING)  # no line break ends a record
    writer.writerow(CSV_FIELDS)
    for table in tables:
        for row in table.rows:
            base = [table.title, row.section, row.model, row.view, row.label]
            wrote = False
            for column in table.columns:
                cell = row.cells.get(column.key)
                if cell is None:
                    continue
                writer.writerow([escape_csv(v) for v in base + [column.probe, column.metric, column.title]]
                                + [_rounded(cell.mean, digits), _rounded(cell.std, digits), cell.n,
                                   int(_is_best(row, cell)), int(cell.tied and row.section != "reference"),
                                   _rounded(cell.draw_std, digits), cell.draws or "", cell.grid_edge or "",
                                   escape_csv(row.failed)])
                wrote = True
            if not wrote and row.failed:
                writer.writerow([escape_csv(v) for v in base] + [""] * (len(CSV_FIELDS) - len(base) - 1)
                                + [escape_csv(row.failed)])
    return buffer.getvalue()


# -- latex ------------------------------------------------------------------
def render_latex(tables: Sequence[Table], digits: int = 4) -> str:
    """booktabs tables (``\\usepackage{booktabs}``), best figures in bold."""
    out = []
    for table in tables:
        spec = "l" + "r" * len(table.columns) + ("r" if table.has_failures else "")
        headers = ["model $\\cdot$ view"] + [escape_latex(c.title) for c in table.columns]
        if table.has_failures:
            headers.append("failed")
        lines = [f"% {escape_latex(table.title)}", "\\begin{table}[t]", "\\centering", "\\small",
                 f"\\begin{{tabular}}{{{spec}}}", "\\toprule", " & ".join(headers) + " \\\\", "\\midrule"]
        for i, (section, rows) in enumerate(table.sections()):
            if i:
                lines.append("\\midrule")
            for row in rows:
                values = [escape_latex(row.label)]
                for column in table.columns:
                    text = escape_latex(_cell_text(row, column, digits, best_mark=""))
                    values.append(f"\\textbf{{{text}}}" if _is_best(row, row.cells.get(column.key)) else text)
                if table.has_failures:
                    values.append(escape_latex(row.failed))
                lines.append(" & ".join(values) + " \\\\")
        lines += ["\\bottomrule", "\\end{tabular}", f"\\caption{{{escape_latex(table.title)}}}", "\\end{table}"]
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


# -- html -------------------------------------------------------------------
HTML_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#222;background:#fff}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}
div.scroll{max-width:100%;overflow-x:auto;border:1px solid #ddd;margin:.5em 0}
table{border-collapse:separate;border-spacing:0;font-size:.85em}
th,td{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:right;vertical-align:middle;background:#fff}
th{background:#f3f3f3;cursor:pointer;user-select:none;min-width:6em;max-width:14em}
td{white-space:nowrap}
th:first-child,td:first-child{text-align:left;position:sticky;left:0;z-index:1;border-right:1px solid #ccc;
 min-width:18em;max-width:24em;white-space:normal}
th:first-child{z-index:2}th.headline{background:#fff0b8}
th.sorted-asc::after{content:" \\25B2"}th.sorted-desc::after{content:" \\25BC"}
tbody.section-baseline td{background:#fafaf0}tbody.section-reference td{background:#f0f5fa;font-style:italic}
tr.section-title td{font-weight:bold;background:#eee;font-style:normal;position:static}
tr.section-title span{position:sticky;left:.6em}
td.best{font-weight:bold;color:#064}td.tied{color:#064}
img.thumb{height:48px;image-rendering:pixelated;vertical-align:middle;margin-right:.5em;border:1px solid #ccc}
.notes{font-size:.8em;color:#555}.legend{font-size:.85em;color:#444;margin-top:2em}
"""

# Sorting: a click on a header sorts every section of its table by that column (rows stay in their section).
HTML_SCRIPT = """
document.querySelectorAll("table.leaderboard th").forEach(function(th){
  th.addEventListener("click",function(){
    var table=th.closest("table"),index=Array.prototype.indexOf.call(th.parentNode.children,th);
    var asc=!th.classList.contains("sorted-asc");
    table.querySelectorAll("th").forEach(function(h){h.classList.remove("sorted-asc","sorted-desc")});
    th.classList.add(asc?"sorted-asc":"sorted-desc");
    table.querySelectorAll("tbody").forEach(function(body){
      var rows=Array.prototype.filter.call(body.rows,function(r){return !r.classList.contains("section-title")});
      rows.sort(function(a,b){
        var x=a.cells[index].getAttribute("data-sort"),y=b.cells[index].getAttribute("data-sort");
        var nx=parseFloat(x),ny=parseFloat(y);
        if(x===""&&y!=="")return 1;if(y===""&&x!=="")return -1;
        var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:String(x).localeCompare(String(y));
        return asc?c:-c;});
      rows.forEach(function(r){body.appendChild(r)});
    });
  });
});
"""


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def render_html(tables: Sequence[Table], digits: int = 4, thumbnails: dict | None = None,
                title: str = "ganbench leaderboard") -> str:
    """One self-contained page: inline CSS and JS, pictures as data URIs, no request of any kind.

    ``thumbnails`` maps ``(model, model cache key)`` to a samples PNG shown beside the row.
    """
    thumbnails = thumbnails or {}
    parts = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
             f"<title>{escape_html(title)}</title>", f"<style>{HTML_STYLE}</style></head><body>",
             f"<h1>{escape_html(title)}</h1>"]
    for table in tables:
        parts.append(f"<h2>{escape_html(table.title)}</h2>")
        # the table scrolls inside its own box; the row labels stay in view (position: sticky)
        parts.append("<div class=\"scroll\"><table class=\"leaderboard\"><thead><tr><th>model · view</th>")
        headline = ' class="headline"'
        parts += [f"<th title=\"{escape_html(c.title)}\"{headline if c.headline else ''}>{escape_html(c.title)}</th>"
                  for c in table.columns]
        if table.has_failures:
            parts.append("<th>failed</th>")
        parts.append("</tr></thead>")
        span = len(table.columns) + 1 + table.has_failures
        for section, rows in table.sections():
            parts.append(f"<tbody class=\"section-{section}\">")
            if len(table.sections()) > 1:
                parts.append(f"<tr class=\"section-title\"><td colspan=\"{span}\"><span>{SECTION_TITLES[section]}</span>"
                             f"</td></tr>")
            for row in rows:
                parts.append(_html_row(table, row, digits, thumbnails))
            parts.append("</tbody>")
        parts.append("</table></div>")
        notes = _notes(table)
        if notes:
            parts.append("<ul class=\"notes\">" + "".join(f"<li>{escape_html(n)}</li>" for n in notes) + "</ul>")
    parts.append(f"<p class=\"legend\">{escape_html(LEGEND.replace(BEST_MARK + ' best', 'bold: best'))}</p>")
    parts.append(f"<script>{HTML_SCRIPT}</script></body></html>")
    return "\n".join(parts) + "\n"


def _html_row(table: Table, row, digits: int, thumbnails: dict) -> str:
    picture = next((thumbnails[(row.model, k)] for k in row.model_keys if (row.model, k) in thumbnails), None)
    image = (f"<img class=\"thumb\" alt=\"samples of {escape_html(row.model)}\" src=\"{_data_uri(picture)}\">"
             if picture else "")
    cells = [f"<td data-sort=\"{escape_html(row.label)}\" title=\"{escape_html(row.label)}\">{image}"
             f"{escape_html(row.label)}</td>"]
    for column in table.columns:
        cell = row.cells.get(column.key)
        if cell is None:
            cells.append("<td data-sort=\"\"></td>")
            continue
        mark = ' class="best"' if _is_best(row, cell) else ' class="tied"' if cell.tied and row.section != "reference" else ""
        cells.append(f"<td data-sort=\"{cell.mean!r}\"{mark}>{escape_html(_cell_text(row, column, digits, best_mark=''))}</td>")
    if table.has_failures:
        cells.append(f"<td data-sort=\"{escape_html(row.failed)}\">{escape_html(row.failed)}</td>")
    return "<tr>" + "".join(cells) + "</tr>"


FORMATS = {"table", "md", "csv", "latex", "html"}


def render(tables: Sequence[Table], fmt: str, width: int = 120, thumbnails: dict | None = None) -> str:
    if fmt == "table":
        return render_terminal(tables, width)
    if fmt == "md":
        return render_md(tables)
    if fmt == "csv":
        return render_csv(tables)
    if fmt == "latex":
        return render_latex(tables)
    if fmt == "html":
        return render_html(tables, thumbnails=thumbnails)
    raise ValueError(f"unknown format {fmt!r}")
