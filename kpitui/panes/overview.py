"""Overview: one tile per headline KPI, with change, trend, goal and data age."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.geometry import Size
from textual.widgets import Static

from kpitui import formatting as fmt
from kpitui.config import TileChoice
from kpitui.goals import goal_for, progress
from kpitui.model import Snapshot, lookup, to_plain
from kpitui.panes.base import Pane, tile_columns, trend
from kpitui.widgets.tile import BoardTile, KpiTile

Series = Callable[[Snapshot], tuple[list[float], float | None] | None]


def _nps_text(s: Snapshot, value: float) -> str:
    margin = s.nps.margin_of_error if s.nps else None
    return f"{value:.0f}" + (f" ±{margin:.0f}" if margin is not None else "")


def _mrr_series(s: Snapshot):
    history = s.revenue.history
    return [p.mrr for p in history], history[-2].mrr if len(history) > 1 else None


def _nps_series(s: Snapshot):
    return [p.score for p in s.nps.history], s.nps.previous_score


def _first_response_series(s: Snapshot):
    return [p.first_response_median for p in s.support.history], s.support.previous_first_response_median


def _conversion_series(s: Snapshot):
    return [v for _, v in s.funnel.weekly], s.funnel.previous_overall_conversion


@dataclass(frozen=True)
class TileSpec:
    """What one overview tile shows and where its numbers come from."""

    key: str
    title: str
    kpi: str
    text: Callable[[Snapshot, float], str]
    higher_is_better: bool = True
    change: str = "relative"
    series: Series | None = None

    @property
    def section(self) -> str:
        """The snapshot section the KPI lies in (whose sources' freshness the tile shows)."""
        return self.kpi.split(".")[0]


TILES = (
    TileSpec("mrr", "MRR", "revenue.mrr", lambda s, v: fmt.money(v, s.currency, compact=True), series=_mrr_series),
    TileSpec("customers", "Paying customers", "revenue.paying_customers", lambda s, v: fmt.number(v)),
    TileSpec("nrr", "NRR (12 mo)", "revenue.nrr", lambda s, v: fmt.percent(v), change="rate"),
    TileSpec("nps", "NPS", "nps.score", _nps_text, change="points", series=_nps_series),
    TileSpec(
        "first_response",
        "First response (median)",
        "support.first_response_minutes.median",
        lambda s, v: fmt.minutes(v),
        higher_is_better=False,
        series=_first_response_series,
    ),
    TileSpec("backlog", "Backlog", "support.backlog", lambda s, v: fmt.number(v), higher_is_better=False),
    TileSpec("csat", "CSAT", "support.csat", lambda s, v: fmt.percent(v), change="rate"),
    TileSpec(
        "conversion",
        "Funnel conversion",
        "funnel.overall_conversion",
        lambda s, v: fmt.percent(v),
        change="rate",
        series=_conversion_series,
    ),
)


_TITLES = {
    "revenue.arr": "ARR",
    "revenue.arpa": "ARPA",
    "revenue.cmrr": "CMRR",
    "revenue.mrr_at_risk": "MRR at risk",
    "revenue.acv": "ACV",
    "revenue.ltv": "LTV",
    "revenue.trial_conversion": "Trial conversion",
    "revenue.customer_churn_rate": "Customer churn",
    "revenue.quick_ratio": "Quick ratio",
    "support.tickets": "Tickets",
    "support.resolution_minutes.median": "Resolution (median)",
    "support.sla_breach_rate": "SLA breaches",
    "acquisition.cac": "CAC",
    "acquisition.ltv_to_cac": "LTV:CAC",
    "acquisition.payback_months": "CAC payback (months)",
    "acquisition.cost_per_signup": "Cost per sign-up",
    "acquisition.spend": "Ad spend",
    "engagement.dau": "DAU",
    "engagement.wau": "WAU",
    "engagement.mau": "MAU",
    "engagement.stickiness": "Stickiness (DAU/MAU)",
    "engagement.lead_velocity_rate": "Lead velocity",
    "customers.detractor_mrr": "MRR of detractors",
}
_LOWER_IS_BETTER = (
    "backlog",
    "minutes",
    "breach",
    "churn",
    "at_risk",
    "acquisition.cac",
    "payback",
    "cost_per",
    "detractor",
)
_MONEY = ("mrr", "arr", "arpa", "cmrr", "acv", "ltv", "mrr_at_risk", "churn", "expansion", "contraction", "net_new")
_MONEY_ELSEWHERE = ("acquisition.cac", "acquisition.spend", "acquisition.cost_per_signup", "customers.detractor_mrr")


def _format_of(kpi: str) -> str:
    """How a KPI path reads best: minutes, a percentage, money, or a plain number."""
    leaf = kpi.split(".")[-1]
    if "minutes" in kpi:
        return "minutes"
    if leaf.endswith(("rate", "conversion", "csat", "nrr", "stickiness")):
        return "percent"
    if (kpi.startswith("revenue.") and (leaf in _MONEY or "movements" in kpi)) or kpi in _MONEY_ELSEWHERE:
        return "money"
    return "number"


def _text(kind: str) -> Callable[[Snapshot, float], str]:
    return {
        "money": lambda s, v: fmt.money(v, s.currency, compact=True),
        "percent": lambda s, v: fmt.percent(v),
        "minutes": lambda s, v: fmt.minutes(v),
        "number": lambda s, v: fmt.number(v, 0 if float(v).is_integer() else 2),
    }[kind]


def board_tiles(choices: tuple[TileChoice, ...]) -> tuple[TileSpec, ...]:
    """The Overview's tiles: `[board] tiles` in their order (the default eight when none are chosen)."""
    if not choices:
        return TILES
    by_kpi = {spec.kpi: spec for spec in TILES}
    specs = []
    for choice in choices:
        known = by_kpi.get(choice.kpi)
        kind = choice.format or _format_of(choice.kpi)
        spec = known or TileSpec(
            key=choice.kpi.replace(".", "-").replace("_", "-"),
            title=_TITLES.get(choice.kpi, choice.kpi),
            kpi=choice.kpi,
            text=_text(kind),
            higher_is_better=not any(word in choice.kpi for word in _LOWER_IS_BETTER),
            change="rate" if kind == "percent" else "relative",
        )
        if choice.label or (known and choice.format):
            spec = replace(spec, title=choice.label or spec.title, text=_text(kind) if choice.format else spec.text)
        specs.append(spec)
    return tuple(specs)


TILE_HEIGHT, COMPACT_HEIGHT = 8, 5  # rows: the full tile; label, value and change only
WALL = (160, 45)  # a terminal this large is a wall screen: values in large figures, readable across a room


_TILE_SHAPE = 1.5  # a grown tile's width ÷ (2 × height): terminal cells are about twice as tall as wide


def fit_tiles(count: int, width: int, height: int) -> tuple[int, int, bool]:
    """Columns, tile height and compactness that show every tile without scrolling where possible: full tiles
    24 cells wide, then 18, then compact ones; on a larger screen the tiles grow to fill it, in the columns that
    keep them closest to a card's shape (a wall screen: two rows of four, not eight tall strips)."""
    for min_width, tile_height, compact in (
        (24, TILE_HEIGHT, False),
        (18, TILE_HEIGHT, False),
        (18, COMPACT_HEIGHT, True),
    ):
        fits = []
        for columns in range(1, tile_columns(count, width, min_width) + 1):
            rows = -(-count // columns)
            if (count % columns == 0 or columns == count) and rows * tile_height <= height:
                fits.append((columns, tile_height if compact else max(tile_height, height // rows)))
        if fits:
            columns, grown = min(fits, key=lambda fit: abs(math.log(width / fit[0] / (2 * fit[1]) / _TILE_SHAPE)))
            return columns, grown, compact
    return tile_columns(count, width, 18), COMPACT_HEIGHT, True


class OverviewPane(Pane):
    """The board's front page: every tile on screen, from 80×24 up; the arrows move among them once one has the
    focus (`f`), `enter` opens one's detail."""

    BINDINGS = [
        Binding("left", "move_tile(-1, 0)", "Tile left", id="tile.left", show=False),
        Binding("right", "move_tile(1, 0)", "Tile right", id="tile.right", show=False),
        Binding("up", "move_tile(0, -1)", "Tile up", id="tile.up", show=False),
        Binding("down", "move_tile(0, 1)", "Tile down", id="tile.down", show=False),
    ]

    def action_move_tile(self, across: int, down: int) -> None:
        """Move the focus to the neighbouring tile (staying put at the board's edge)."""
        grid = self.query_one("#overview-grid", Grid)
        tiles = [tile for tile in grid.query(BoardTile) if tile.display]
        if self.app.focused not in tiles:
            return
        columns = int(grid.styles.grid_size_columns or 1)
        here = tiles.index(self.app.focused)
        row, column = divmod(here, columns)
        column = min(max(column + across, 0), columns - 1)
        there = (row + down) * columns + column
        if 0 <= there < len(tiles) and (across == 0 or (row + down) * columns <= there):
            tiles[there].focus()

    def focus_first_tile(self) -> None:
        """Give the focus to the first tile on screen."""
        next(tile for tile in self.query(BoardTile) if tile.display).focus()

    page = 0  # the page of tiles on screen, when they do not all fit
    pages = 1

    def lay_out_tiles(self, grid: Grid, size: Size) -> None:
        """Fit every tile on screen (compact when space is short), growing them to fill a larger one; on a wall
        screen the values are drawn in large figures; with more tiles than fit even compact, pages of them."""
        tiles = list(grid.children)
        width, height = size.width - 2, size.height - 1
        columns, tile_height, compact = fit_tiles(len(tiles), width, height)
        per_page = len(tiles)
        if -(-len(tiles) // columns) * tile_height > height:  # not even compact tiles all fit: page them
            columns = max(1, width // 18)
            per_page = columns * max(1, (height - 1) // COMPACT_HEIGHT)  # a row kept for the page line
        self.pages = -(-len(tiles) // per_page)
        self.page = min(self.page, self.pages - 1)
        grid.set_class(not compact and self.app.size.width >= WALL[0] and self.app.size.height >= WALL[1], "-wall")
        grid.styles.grid_size_columns = columns
        grid.styles.grid_rows = str(tile_height)
        for index, tile in enumerate(tiles):
            tile.styles.height = tile_height
            tile.set_class(compact, "-compact")
            tile.display = index // per_page == self.page
        pager = self.query_one("#overview-pages", Static)
        pager.display = self.pages > 1
        pager.update(f"page {self.page + 1} of {self.pages} · PgDn / PgUp for the others")

    def turn_page(self, step: int) -> bool:
        """Show the next (or previous) page of tiles; False when the tiles are not paged."""
        if self.pages == 1:
            return False
        self.page = (self.page + step) % self.pages
        self.lay_out_tiles(self.query_one("#overview-grid", Grid), self.size)
        return True

    def compose(self) -> ComposeResult:
        """A grid of the board's tiles, and the line saying which page of them is shown."""
        self.tiles = board_tiles(self.app.config.tiles)
        self.missing: set[str] = set()  # the tiles last drawn without a value
        with Grid(id="overview-grid", classes="tiles"):
            for spec in self.tiles:
                yield BoardTile(spec.title, spec.kpi, good_when_up=spec.higher_is_better, id=f"tile-{spec.key}")
        yield Static("", id="overview-pages")

    def show_snapshot(self, snapshot: Snapshot, now: datetime) -> None:
        """Fill every tile; a missing value shows a dash, never a made-up number."""
        plain = to_plain(snapshot)
        alerts = _alert_states(snapshot)
        self.missing = set()
        for spec in self.tiles:
            tile = self.query_one(f"#tile-{spec.key}", KpiTile)
            age, state = self.source_age(snapshot, now, spec.section)
            value = lookup(plain, spec.kpi)
            if value is None:
                self.missing.add(spec.key)
                tile.show_missing(age, state)
                continue
            series, previous = spec.series(snapshot) if spec.series else trend(snapshot, spec.kpi)
            delta, direction = fmt.change(value, previous, spec.change)
            goal = progress(value, goal_for(snapshot.goals, spec.kpi), spec.higher_is_better)
            tile.show(spec.text(snapshot, value), delta, direction, series, age, alerts.get(spec.kpi, state), goal)

    def show_ages(self, snapshot: Snapshot, now: datetime) -> None:
        """Only each tile's age and state: the numbers have not changed."""
        alerts = _alert_states(snapshot)
        ages = {section: self.source_age(snapshot, now, section) for section in {spec.section for spec in self.tiles}}
        for spec in self.tiles:
            age, state = ages[spec.section]
            tile = self.query_one(f"#tile-{spec.key}", KpiTile)
            if spec.key in self.missing:
                tile.show_age(age, state or "missing")
            else:
                tile.show_age(age, alerts.get(spec.kpi, state))


def _alert_states(snapshot: Snapshot) -> dict[str, str]:
    """The KPIs whose alerts are warning or critical, and that state."""
    return {a.kpi: a.state for a in snapshot.alerts if a.state in ("warning", "critical")}
