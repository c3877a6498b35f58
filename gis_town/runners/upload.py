"""The upload runner (上图入库): the accepted high-standard plots of a town on a date.

:func:`run_upload` reads the construction sections (``[high_standard]``), runs the
acceptance check on the town's ``acceptance_plots``
(:func:`gis_town.runners.progress.acceptance_verdict`), takes each section's stages on
the as-of date (:func:`~gis_town.analysis.progress.construction.section_stages`) and
splits the plots into the upload and the rejects
(:func:`~gis_town.analysis.progress.upload.upload_plots`). ``gis-town upload`` and the
demo call it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import pandas as pd

from gis_town.analysis.progress.upload import UploadPlots, upload_plots, upload_summary
from gis_town.config import TownConfig

__all__ = ["UploadResult", "run_upload", "upload_layers"]

log = logging.getLogger(__name__)



def upload_layers(config: TownConfig) -> list[str]:
    """The town layers an upload reads: the villages and the acceptance check's context layers
    (``acceptance_plots`` itself is read as stored: :func:`gis_town.io.town.stored_layer`)."""
    from gis_town.analysis.check.rulesets import load_rule_set
    from gis_town.runners.check import context_layers

    return list(dict.fromkeys(["villages", "farmland", *context_layers(load_rule_set("high_standard", config))]))


@dataclass
class UploadResult:
    """The upload of a town on a date.

    Attributes
    ----------
    as_of : Timestamp
    upload : UploadPlots
        The plots to upload and the rejects.
    summary : DataFrame
        Per project (:func:`~gis_town.analysis.progress.upload.upload_summary`).
    stages : DataFrame
        Each section's stages (:data:`~gis_town.analysis.progress.construction.SECTION_COLUMNS`).
    checked : bool
        Whether the acceptance check ran (False: the sections' dates alone decided).
    """

    as_of: pd.Timestamp
    upload: UploadPlots
    summary: pd.DataFrame
    stages: pd.DataFrame
    checked: bool


def run_upload(
    town, config: TownConfig | None = None, *, as_of: str | dt.date | None = None, pending_only: bool = False
) -> UploadResult:
    """The accepted plots of ``town`` to upload on ``as_of`` (default: ``town.data_date``, else today);
    with ``pending_only``, only those of the sections not uploaded yet.

    Raises
    ------
    LayerError
        The town has no construction sections or no farmland.
    FieldError
        A section without ``project``, a blank or repeated ``section_id``, a date that cannot be
        parsed.
    """
    from gis_town.analysis.progress.construction import section_stages
    from gis_town.analysis.progress.status import _names
    from gis_town.errors import LayerError
    from gis_town.runners.progress import construction_inputs, progress_as_of

    cfg = town.config if config is None else config
    day = progress_as_of(as_of, cfg)
    hs = cfg.high_standard
    got = construction_inputs(town, cfg)
    if got is None:
        raise LayerError(
            f"没有高标准农田建设片区图层 / no construction sections: the town has no layer {hs.layer!r}; "
            "name their file in the config's [high_standard] path (docs/config.md)",
            layer=hs.layer,
        )
    farmland = town.layers.get("farmland")
    if farmland is None:
        raise LayerError("没有耕地图层 / the town has no farmland layer: the upload takes its parcels",
                         layer="farmland")
    sections, verdict, checks = got
    failures = None if verdict is None else verdict.failures
    names = _names(town.layers.get("villages"))
    stages = section_stages(sections, as_of=day, names=names, checks=checks, id_field=hs.id_field)
    upload = upload_plots(farmland, sections, stages, check_failures=failures,
                          land_uses=hs.upload_land_uses, id_field=hs.id_field, names=names,
                          pending_only=pending_only)
    log.info("上图入库 upload as of %s: %d plots, %d rejected", f"{day:%Y-%m-%d}", len(upload.plots),
             len(upload.rejects))
    return UploadResult(day, upload, upload_summary(upload, stages), stages, verdict is not None)
