"""Maps that open with no network: Leaflet and its plugins inlined, local backgrounds.

Town offices often have no internet. ``folium`` pages load Leaflet, jQuery,
Bootstrap and fonts from CDNs, so offline they show nothing. The package ships
Leaflet 1.9.4, Leaflet.fullscreen 3.0.0 and leaflet-measure 2.1.7 under
``gis_town/maps/assets/`` (taken unchanged from the npm registry, with their
MIT/BSD licenses); :func:`inline_assets` replaces each ``<script src=...>``
and stylesheet ``<link>`` of a rendered page by the file's content, with the
CSS images as ``data:`` URIs. Every gis_town page goes through it (online
maps too: only their basemap tiles come from the network). A page that still
names a remote file raises an error rather than silently needing the network.

Tiles need a network too, so offline maps (``offline=True``) have no tile
layer and draw a background from local data: a hillshade of the town's DEM
(:func:`hillshade_overlay`), an orthophoto (:func:`raster_overlay`), or a
local tile folder (:func:`local_tiles`).
"""

from __future__ import annotations

import base64
import io
import logging
import mimetypes
import re
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from gis_town.errors import InputError, RasterError

__all__ = [
    "ASSETS",
    "CDN",
    "asset_text",
    "hillshade_overlay",
    "inline_assets",
    "local_tiles",
    "png_data_uri",
    "raster_overlay",
    "remote_references",
]

log = logging.getLogger(__name__)

_NPM = "https://cdn.jsdelivr.net/npm"

#: CDN URL -> packaged file (relative to ``gis_town/maps/assets``). The URLs only
#: name the files (folium renders them as links); every page gets the packaged
#: content inline instead.
ASSETS: dict[str, str] = {
    f"{_NPM}/leaflet@1.9.4/dist/leaflet.js": "leaflet/leaflet.js",
    f"{_NPM}/leaflet@1.9.4/dist/leaflet.css": "leaflet/leaflet.css",
    f"{_NPM}/leaflet.fullscreen@3.0.0/Control.FullScreen.js": "leaflet-fullscreen/Control.FullScreen.js",
    f"{_NPM}/leaflet.fullscreen@3.0.0/Control.FullScreen.css": "leaflet-fullscreen/Control.FullScreen.css",
    f"{_NPM}/leaflet-measure@2.1.7/dist/leaflet-measure.min.js": "leaflet-measure/leaflet-measure.min.js",
    f"{_NPM}/leaflet-measure@2.1.7/dist/leaflet-measure.css": "leaflet-measure/leaflet-measure.css",
}

#: Short names of the CDN URLs (the keys of :data:`ASSETS`).
CDN: dict[str, str] = {
    "leaflet_js": f"{_NPM}/leaflet@1.9.4/dist/leaflet.js",
    "leaflet_css": f"{_NPM}/leaflet@1.9.4/dist/leaflet.css",
    "fullscreen_js": f"{_NPM}/leaflet.fullscreen@3.0.0/Control.FullScreen.js",
    "fullscreen_css": f"{_NPM}/leaflet.fullscreen@3.0.0/Control.FullScreen.css",
    "measure_js": f"{_NPM}/leaflet-measure@2.1.7/dist/leaflet-measure.min.js",
    "measure_css": f"{_NPM}/leaflet-measure@2.1.7/dist/leaflet-measure.css",
}


def _assets_dir():
    return resources.files("gis_town.maps") / "assets"


@cache
def _asset_bytes(rel: str) -> bytes:
    return (_assets_dir() / rel).read_bytes()


def _data_uri(rel: str) -> str:
    mime = mimetypes.guess_type(rel)[0] or "application/octet-stream"
    if rel.endswith(".svg"):
        mime = "image/svg+xml"
    return f"data:{mime};base64," + base64.b64encode(_asset_bytes(rel)).decode("ascii")


@cache
def asset_text(rel: str) -> str:
    """The text of a packaged asset, ready to inline.

    JavaScript loses its ``sourceMappingURL`` comment (a devtools request);
    CSS ``url(...)`` references to packaged images become ``data:`` URIs.
    """
    text = _asset_bytes(rel).decode("utf-8")
    folder = rel.rsplit("/", 1)[0]
    if rel.endswith(".js"):
        text = re.sub(r"^//# sourceMappingURL=.*$", "", text, flags=re.MULTILINE)
        if re.search(r"</script", text, flags=re.IGNORECASE):  # would end the inline element
            text = re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)
    elif rel.endswith(".css"):

        def repl(m: re.Match) -> str:
            url = m.group(2)
            if url.startswith(("data:", "#")):
                return m.group(0)
            return f"url({_data_uri(f'{folder}/{url}')})"

        text = re.sub(r"url\((['\"]?)([^)'\"]+)\1\)", repl, text)
        text = text.replace("</style", "<\\/style")
    return text


_SCRIPT_RE = re.compile(r'<script\s+src="([^"]+)"\s*>\s*</script>', re.IGNORECASE)
_LINK_RE = re.compile(r'<link\s+rel="stylesheet"\s+href="([^"]+)"\s*/?>', re.IGNORECASE)


def inline_assets(page: str) -> str:
    """Replace every known CDN script and stylesheet of ``page`` with its packaged content.

    Raises
    ------
    InputError
        When the page names a remote script or stylesheet that is not packaged
        (the map would need the network).
    """
    missing: list[str] = []

    def script(m: re.Match) -> str:
        url = m.group(1)
        if url in ASSETS:
            return f"<script>{asset_text(ASSETS[url])}</script>"
        missing.append(url)
        return m.group(0)

    def link(m: re.Match) -> str:
        url = m.group(1)
        if url in ASSETS:
            return f"<style>{asset_text(ASSETS[url])}</style>"
        missing.append(url)
        return m.group(0)

    out = _LINK_RE.sub(link, _SCRIPT_RE.sub(script, page))
    if missing:
        raise InputError(
            "地图仍引用网络文件 / the map still names files on the network: "
            + ", ".join(missing)
            + " (drop that element or package the file under gis_town/maps/assets)"
        )
    return out


def remote_references(page: str) -> list[str]:
    """URLs a browser would fetch from the network to show ``page``.

    Scripts, stylesheets, images, frames and media with a remote ``src`` /
    ``href``, CSS ``url(...)`` and Leaflet tile or image-overlay URLs. Plain
    links (``<a href>``) are not fetched and not listed.
    """
    remote = r"((?:https?:)?//[^\"'\s)]+)"
    urls = re.findall(
        r"<(?:script|img|iframe|source|embed|video|audio|input)\b[^>]*?\ssrc\s*=\s*[\"']?" + remote,
        page,
        flags=re.IGNORECASE,
    )
    urls += re.findall(r"<link\b[^>]*?\shref\s*=\s*[\"']?" + remote, page, flags=re.IGNORECASE)
    urls += re.findall(r"url\(\s*['\"]?" + remote, page, flags=re.IGNORECASE)
    urls += re.findall(r"L\.(?:tileLayer|imageOverlay)\(\s*[\"']" + remote, page)
    urls += re.findall(r"@import\s+[\"']" + remote, page)
    return urls


def png_data_uri(rgba: np.ndarray) -> str:
    """Encode an ``(h, w)`` grey, ``(h, w, 2)`` grey+alpha or ``(h, w, 3|4)`` uint8 image as a PNG ``data:`` URI."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba)).save(buf, format="PNG", compress_level=6)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _warp_to_mercator(
    src_path: Path, *, max_px: int, band_count: int | None = None, resampling: str = "bilinear"
):
    """Read a raster warped to Web Mercator (exact under Leaflet's image stretch).

    Returns (array (bands, h, w) float32 with NaN nodata, lon/lat bounds (south, west, north, east)).
    """
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.warp import calculate_default_transform, reproject, transform_bounds

    try:
        src = rasterio.open(src_path)
    except Exception as exc:
        raise RasterError(f"无法读取栅格 / cannot read raster: {exc}", path=str(src_path)) from exc
    with src:
        if src.crs is None:
            raise RasterError(
                "栅格没有坐标系 / the raster has no CRS: add one (e.g. EPSG:4544)",
                path=str(src_path),
            )
        dst_crs = "EPSG:3857"
        transform, width, height = calculate_default_transform(
            src.crs, dst_crs, src.width, src.height, *src.bounds
        )
        scale = max(1.0, max(width, height) / max_px)
        width, height = max(1, int(width / scale)), max(1, int(height / scale))
        left, bottom, right, top = transform_bounds(src.crs, dst_crs, *src.bounds)
        from rasterio.transform import from_bounds

        transform = from_bounds(left, bottom, right, top, width, height)
        bands = list(range(1, (band_count or src.count) + 1))
        out = np.full((len(bands), height, width), np.nan, dtype="float32")
        for i, b in enumerate(bands):
            reproject(
                source=rasterio.band(src, b),
                destination=out[i],
                src_transform=src.transform,
                src_crs=src.crs,
                src_nodata=src.nodata,
                dst_transform=transform,
                dst_crs=dst_crs,
                dst_nodata=np.nan,
                resampling=getattr(Resampling, resampling),
            )
        west, south, east, north = transform_bounds(dst_crs, "EPSG:4326", left, bottom, right, top)
    return out, (south, west, north, east), (left, bottom, right, top)


def hillshade_overlay(
    dem_path: str | Path,
    *,
    max_px: int = 2048,
    azimuth_deg: float = 315.0,
    altitude_deg: float = 45.0,
):
    """A hillshade of the DEM as a PNG image and its lon/lat bounds, for an offline background.

    The hillshade comes from :func:`gis_town.raster.hillshade` (true cell
    sizes in metres, warped to Web Mercator so Leaflet's linear image stretch
    places every pixel right). Cells without data are transparent.

    Returns
    -------
    (data_uri, [[south, west], [north, east]])
    """
    from gis_town import raster

    dem_path = Path(dem_path)
    if not dem_path.is_file():
        raise RasterError("DEM 文件不存在 / DEM file not found", path=str(dem_path))
    img, (west, south, east, north) = raster.hillshade(
        dem_path,
        azimuth_deg=azimuth_deg,
        altitude_deg=altitude_deg,
        max_size=max_px,
        web_mercator=True,
    )
    alpha = np.where(img > 0, 255, 0).astype("uint8")
    return png_data_uri(np.dstack([img, alpha])), [[south, west], [north, east]]


def raster_overlay(path: str | Path, *, max_px: int = 2000):
    """An orthophoto (RGB GeoTIFF, any CRS) as a PNG and its lon/lat bounds, for an offline background."""
    path = Path(path)
    if not path.is_file():
        raise RasterError("影像文件不存在 / orthophoto file not found", path=str(path))
    arr, bounds, _ = _warp_to_mercator(path, max_px=max_px, band_count=None)
    bands = arr[:3] if arr.shape[0] >= 3 else np.repeat(arr[:1], 3, axis=0)
    valid = np.all(np.isfinite(bands), axis=0)
    finite = bands[:, valid]
    if finite.size == 0:
        raise RasterError("影像没有有效像元 / the orthophoto has no valid pixels", path=str(path))
    if finite.max() > 255 or finite.min() < 0:  # 16-bit or float: stretch 2-98 %
        lo, hi = np.percentile(finite, [2, 98])
        bands = (bands - lo) / max(hi - lo, 1e-9) * 255.0
    rgb = np.clip(np.nan_to_num(bands, nan=0.0), 0, 255).astype("uint8").transpose(1, 2, 0)
    rgba = np.dstack([rgb, np.where(valid, 255, 0).astype("uint8")])
    south, west, north, east = bounds
    return png_data_uri(rgba), [[south, west], [north, east]]


def local_tiles(folder: str | Path, html_path: str | Path | None = None) -> str:
    """A Leaflet tile URL template for a local XYZ tile folder (``{z}/{x}/{y}.png`` or ``.jpg``).

    The URL is relative to the HTML file when the folder lies beside or below
    it, so the pair can be copied to another PC; otherwise a ``file://`` URL.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"瓦片目录不存在 / tile folder not found: {folder}")
    if any(seq in str(folder.resolve()) for seq in ("{", "}")):
        raise InputError(
            f"瓦片目录名不能含花括号 / the tile folder's path must not contain braces: {folder}"
        )
    ext = "png"
    for cand in ("png", "jpg", "jpeg", "webp"):
        if next(folder.glob(f"*/*/*.{cand}"), None) is not None:
            ext = cand
            break
    else:
        raise InputError(
            f"瓦片目录中没有 {{z}}/{{x}}/{{y}}.png 瓦片 / no {{z}}/{{x}}/{{y}}.png tiles in {folder}"
        )
    if html_path is not None:
        base = Path(html_path).resolve().parent
        try:
            rel = folder.resolve().relative_to(base)
            return f"{rel.as_posix()}/{{z}}/{{x}}/{{y}}.{ext}"
        except ValueError:
            pass
    return folder.resolve().as_uri() + f"/{{z}}/{{x}}/{{y}}.{ext}"
