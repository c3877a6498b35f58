"""What a map layer shows: one description shared by the web map and the print map.

A :class:`LayerSpec` names a layer, holds its features, says which fields its
tooltip and popup show (with their Chinese labels), which column picks each
feature's :class:`Style`, and how the legend labels each class. The web map
(:mod:`gis_town.maps.base`) and the print map (:mod:`gis_town.maps.printmap`)
both draw from it, so a meeting's PDF and the browser map look alike.

Values shown to people are formatted here (codes to Chinese labels, dates,
numbers, booleans as 是/否) and HTML-escaped here: nothing downstream inserts
an unescaped attribute value into a page.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.schema import CODE_VALUES, FIELD_LABELS, LAYERS

__all__ = [
    "PERSONAL_FIELDS",
    "LayerSpec",
    "Style",
    "escape",
    "escape_name",
    "escape_series",
    "field_label",
    "format_series",
    "geometry_kind",
    "split_by_family",
    "graduated_classes",
    "public_specs",
]

log = logging.getLogger(__name__)

#: Fields that carry private persons' names (household heads, contracting
#: households). ``--public`` maps leave them out entirely: not only hidden,
#: absent from the file. Officials' names (river chiefs, village leaders) are
#: published on public signboards and stay.
PERSONAL_FIELDS: frozenset[str] = frozenset(
    {"head", "contractor", "household_head", "contractor_name"}
)


@dataclass(frozen=True)
class Style:
    """How a class of features is drawn (web and print).

    Parameters
    ----------
    color : str
        Outline / line colour (hex).
    fill : str or None
        Fill colour of polygons and point markers; None for no fill.
    weight : float
        Outline / line width in CSS pixels (print: points * 0.75).
    opacity : float
        Outline / line opacity 0-1.
    fill_opacity : float
        Fill opacity 0-1.
    dash : str or None
        Dash pattern in pixels, e.g. ``"6 4"``.
    radius : float
        Point marker radius in pixels.
    """

    color: str = "#3388ff"
    fill: str | None = None
    weight: float = 1.0
    opacity: float = 1.0
    fill_opacity: float = 0.5
    dash: str | None = None
    radius: float = 5.0

    def to_leaflet(self) -> dict:
        """Leaflet path options."""
        opts: dict = {"color": self.color, "weight": self.weight, "opacity": self.opacity}
        if self.fill:
            opts.update(fill=True, fillColor=self.fill, fillOpacity=self.fill_opacity)
        else:
            opts["fill"] = False
        if self.dash:
            opts["dashArray"] = self.dash
        return opts


def geometry_kind(gdf: gpd.GeoDataFrame) -> str:
    """Return ``"polygon"``, ``"line"`` or ``"point"`` for a layer of one geometry family."""
    types = set(gdf.geometry.geom_type.dropna().unique())
    if not types:
        return "polygon"
    if types <= {"Polygon", "MultiPolygon"}:
        return "polygon"
    if types <= {"LineString", "MultiLineString", "LinearRing"}:
        return "line"
    if types <= {"Point", "MultiPoint"}:
        return "point"
    raise ValueError(f"mixed geometry families in one map layer: {sorted(types)}")


def split_by_family(gdf: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """A layer's features by geometry family (``"polygon"``, ``"line"``, ``"point"``), for layers the schema lets mix.

    A layer of one family comes back whole under its kind; features without
    geometry stay with the first family.
    """
    types = gdf.geometry.geom_type
    family = types.map(
        lambda t: "polygon" if t in ("Polygon", "MultiPolygon") else "point" if t in ("Point", "MultiPoint")
        else "line" if isinstance(t, str) else None
    )
    kinds = [k for k in ("polygon", "line", "point") if (family == k).any()]
    if len(kinds) <= 1:
        return {kinds[0] if kinds else geometry_kind(gdf): gdf}
    family = family.fillna(kinds[0])
    return {k: gdf[(family == k).to_numpy()] for k in kinds}


@dataclass
class LayerSpec:
    """One map layer: features, shown fields, class styles and legend labels.

    Parameters
    ----------
    name : str
        Layer name in the layer control and legend (Chinese, English beside it).
    gdf : GeoDataFrame
        Features with a CRS (any; maps reproject to lon/lat).
    fields : sequence of str
        Columns shown in the popup, in order.
    tooltip : sequence of str
        Columns shown in the hover tooltip (default: the first popup field).
    labels : mapping
        Column -> label overrides (default :data:`gis_town.schema.FIELD_LABELS`).
    category : str, optional
        Column whose value picks the feature's style from ``styles``.
    styles : mapping
        Category value -> :class:`Style`. Values not listed use ``style``.
    class_labels : mapping
        Category value -> legend label (default: the value's code label).
    style : Style
        Style of features without a category (or with an unlisted one).
    label_field : str, optional
        Column drawn as a permanent text label (village and zone names).
    show : bool
        Shown when the map opens.
    legend : bool
        Listed in the legend.
    codes : mapping
        Column -> code list of :data:`gis_town.schema.CODE_VALUES` whose
        Chinese labels are shown instead of codes. Defaults from ``schema_layer``.
    schema_layer : str, optional
        The town layer this comes from (for code lists).
    coverage : bool
        True for polygons that tile without overlaps (villages, parcels): they
        may be simplified with shared borders kept.
    print_show : bool or None
        Drawn on the print map (default: ``show``).
    """

    name: str
    gdf: gpd.GeoDataFrame
    fields: Sequence[str] = ()
    tooltip: Sequence[str] | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    category: str | None = None
    styles: Mapping[object, Style] = field(default_factory=dict)
    class_labels: Mapping[object, str] = field(default_factory=dict)
    style: Style = field(default_factory=Style)
    label_field: str | None = None
    show: bool = True
    legend: bool = True
    codes: Mapping[str, str] = field(default_factory=dict)
    schema_layer: str | None = None
    coverage: bool = False
    print_show: bool | None = None

    def __post_init__(self) -> None:
        if self.schema_layer and self.schema_layer in LAYERS:
            types = LAYERS[self.schema_layer].types
            auto = {f: t for f, t in types.items() if t in CODE_VALUES}
            self.codes = {**auto, **dict(self.codes)}
        self.fields = [f for f in self.fields if f in self.gdf.columns]
        if self.tooltip is None:
            self.tooltip = list(self.fields[:1])
        else:
            self.tooltip = [f for f in self.tooltip if f in self.gdf.columns]
        if self.category is not None and self.category not in self.gdf.columns:
            raise KeyError(
                f"layer {self.name!r}: category column {self.category!r} not in {list(self.gdf.columns)}"
            )

    @property
    def kind(self) -> str:
        """Geometry family: polygon, line or point."""
        return geometry_kind(self.gdf)

    def label(self, column: str) -> str:
        """Chinese label of a column."""
        return field_label(column, self.labels)

    def class_label(self, value: object) -> str:
        """Legend label of a category value."""
        if value in self.class_labels:
            return str(self.class_labels[value])
        if self.category and self.category in self.codes:
            return code_label_safe(self.codes[self.category], value)
        return str(value)

    def classes(self) -> list[object]:
        """Category values in legend order: the styles' order, then other values present."""
        if self.category is None:
            return []
        present = pd.unique(self.gdf[self.category].dropna())
        order = [v for v in self.styles if v in set(present)]
        return order

    def style_of(self, value: object) -> Style:
        """Style for a category value."""
        return self.styles.get(value, self.style)

    @property
    def shown_in_print(self) -> bool:
        """Whether the print map draws this layer."""
        return self.show if self.print_show is None else self.print_show

    def columns_used(self) -> list[str]:
        """Every attribute column the map needs (nothing else is written into the page)."""
        cols = list(
            dict.fromkeys(
                [
                    *self.fields,
                    *(self.tooltip or []),
                    *([self.label_field] if self.label_field else []),
                ]
            )
        )
        if self.category:
            cols.append(self.category)
        return [c for c in dict.fromkeys(cols) if c in self.gdf.columns]


def code_label_safe(code_list: str, value: object) -> str:
    """Chinese label of a code (the value itself when unknown)."""
    codes = CODE_VALUES.get(code_list, {})
    if value in codes:
        return codes[value][0]
    return "" if value is None else str(value)


def field_label(column: str, overrides: Mapping[str, str] | None = None) -> str:
    """Chinese label of a column (``overrides`` first, then :data:`FIELD_LABELS`, then the name)."""
    if overrides and column in overrides:
        return overrides[column]
    return FIELD_LABELS.get(column, column)


def escape(text: object) -> str:
    """HTML-escape any value as text (quotes too)."""
    return html.escape("" if text is None else str(text), quote=True)


def escape_name(text: object) -> str:
    """Escape a name that folium writes into a script itself (layer names in the layer control).

    HTML-escaped (Leaflet inserts layer names as HTML), and braces as HTML
    entities, because branca compiles rendered scripts as Jinja templates.
    """
    return escape(text).replace("{", "&#123;").replace("}", "&#125;")


def escape_series(values: pd.Series) -> pd.Series:
    """HTML-escape a Series of strings, vectorised (``& < > " '``)."""
    s = values.astype("string").fillna("")
    return (
        s.str.replace("&", "&amp;", regex=False)
        .str.replace("<", "&lt;", regex=False)
        .str.replace(">", "&gt;", regex=False)
        .str.replace('"', "&quot;", regex=False)
        .str.replace("'", "&#x27;", regex=False)
    )


def _trim_float(s: pd.Series, decimals: int) -> pd.Series:
    """Numbers with up to ``decimals`` decimals, trailing zeros dropped, thousands separated (vectorised)."""
    vals = s.astype("float64").round(decimals).to_numpy()
    finite = np.isfinite(vals)
    text = np.full(len(vals), "", dtype=object)
    if finite.any():
        v = vals[finite]
        neg = v < 0
        scaled = np.rint(np.abs(v) * 10**decimals).astype("int64")
        ip = (scaled // 10**decimals).astype(str)
        # thousands separators on the integer part
        ip = pd.Series(ip, dtype="string").str.replace(r"(\d)(?=(\d{3})+$)", r"\1,", regex=True)
        if decimals:
            fp = pd.Series(scaled % 10**decimals, dtype="int64").astype(str).str.zfill(decimals)
            fp = fp.str.rstrip("0")
            num = ip.str.cat(fp.where(fp == "", "." + fp).fillna(""), na_rep="")
        else:
            num = ip
        num = num.where(~pd.Series(neg & (scaled > 0)), "-" + num)
        text[finite] = num.to_numpy(dtype=object)
    return pd.Series(text, index=s.index, dtype="string")


def format_series(
    values: pd.Series, column: str, codes: Mapping[str, str] | None = None
) -> pd.Series:
    """Format a column for people to read (not escaped): codes -> Chinese labels, dates, numbers, 是/否.

    Parameters
    ----------
    values : Series
    column : str
        Column name (picks the code list and the number of decimals).
    codes : mapping
        Column -> code list.
    """
    s = values
    if codes and column in codes and codes[column] in CODE_VALUES:
        table = {k: v[0] for k, v in CODE_VALUES[codes[column]].items()}
        raw = s.astype("string")
        out = raw.map(table)
        return out.astype("string").fillna(raw).fillna("")
    if pd.api.types.is_bool_dtype(s):
        return s.map({True: "是", False: "否"}).astype("string").fillna("")
    if pd.api.types.is_datetime64_any_dtype(s):
        ok = s.notna()
        has_time = bool(((s[ok].dt.hour != 0) | (s[ok].dt.minute != 0)).any())
        fmt = "%Y-%m-%d %H:%M" if has_time else "%Y-%m-%d"
        return s.dt.strftime(fmt).astype("string").fillna("")
    if pd.api.types.is_integer_dtype(s):
        return s.astype("Int64").astype("string").fillna("")
    if pd.api.types.is_float_dtype(s):
        decimals = 2
        if column.endswith(("_deg", "_m")):
            decimals = 1 if column.endswith("_deg") else 0
        return _trim_float(s, decimals).astype("string")
    return s.astype("string").fillna("")


def graduated_classes(
    values: pd.Series,
    bins: Sequence[float],
    colors: Sequence[str],
    *,
    unit: str = "",
    fmt: str = "{:g}",
) -> tuple[pd.Series, dict[int, Style], dict[int, str]]:
    """Classify numbers into graduated classes for a legend.

    Parameters
    ----------
    values : Series of float
    bins : sequence of float
        Class edges, ascending, ``len(colors) + 1`` of them; the first and last
        may be ``-inf`` / ``inf``.
    colors : sequence of str
        One fill colour per class.
    unit : str
        Unit appended to the labels.

    Returns
    -------
    classes : Series of Int64 (class index; NA for missing values)
    styles : dict class -> Style
    labels : dict class -> legend label such as ``"0.7 – 1.0"``
    """
    if len(bins) != len(colors) + 1:
        raise ValueError("bins must have one more edge than colors")
    cls = pd.cut(
        values.astype("float64"), bins=list(bins), labels=False, include_lowest=True, right=False
    )
    cls = pd.Series(cls, index=values.index).astype("Int64")
    styles, labels = {}, {}
    for i, c in enumerate(colors):
        lo, hi = bins[i], bins[i + 1]
        if not np.isfinite(lo):
            text = f"< {fmt.format(hi)}"
        elif not np.isfinite(hi):
            text = f"≥ {fmt.format(lo)}"
        else:
            text = f"{fmt.format(lo)} – {fmt.format(hi)}"
        styles[i] = Style(color="#555555", fill=c, weight=0.5, fill_opacity=0.75)
        labels[i] = f"{text}{(' ' + unit) if unit else ''}"
    return cls, styles, labels


def public_specs(
    specs: Sequence[LayerSpec], personal: frozenset[str] = PERSONAL_FIELDS
) -> list[LayerSpec]:
    """Copies of ``specs`` without personal names (for maps shared outside the office).

    The columns are dropped from the data, not only from the popups.
    """
    out = []
    for spec in specs:
        drop = [c for c in spec.gdf.columns if c in personal]
        gdf = spec.gdf.drop(columns=drop) if drop else spec.gdf
        label_field = None if spec.label_field in personal else spec.label_field
        category = None if spec.category in personal else spec.category
        out.append(
            replace(
                spec,
                gdf=gdf,
                fields=[f for f in spec.fields if f not in personal],
                tooltip=[f for f in (spec.tooltip or []) if f not in personal],
                label_field=label_field,
                category=category,
            )
        )
        if drop:
            log.info("公开版地图去除个人姓名 / public map: dropped %s from %s", drop, spec.name)
    return out
