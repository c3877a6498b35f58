"""The visits runner (走访结果回收): filled visit lists and a town to the visit history.

:func:`run_visits` reads the filled workbooks (files or folders, one per
village or the town's), checks every filled row against the town's farmland
(:func:`gis_town.analysis.visits.validate_visits`), takes each accepted
visit's village from the parcel it names (the parcel id is what the cadre
wrote; the village and its leader follow from it) and counts the follow-up
per village and leader (撂荒地整治). :func:`visit_history` is the one reading
of the history for the other commands: the ``--visits`` file given, else the
config's ``[risk] visits``. The CLI (``gis-town visits``) writes and prints
what it returns.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from gis_town.config import TownConfig
from gis_town.errors import InputError
from gis_town.settings import LOCAL_TZ

__all__ = ["VisitsResult", "as_of_date", "run_visits", "visit_history"]

log = logging.getLogger(__name__)


@dataclass
class VisitsResult:
    """The visit lists read back (columns: ``docs/visits.md``).

    Attributes
    ----------
    accepted : DataFrame
        Accepted visits (``visits.csv``:
        :data:`~gis_town.analysis.visits.VISIT_HISTORY_COLUMNS`), village and
        leader from the town.
    rejects : DataFrame
        Rejected rows (:data:`~gis_town.analysis.visits.REJECT_COLUMNS`), reasons in Chinese and English.
    listed : DataFrame
        Every parcel on the lists read (``listed.csv``: ``parcel_id``,
        ``village_id``, ``listed_date``, ``source``, ``sheet``).
    villages : DataFrame
        The follow-up per village and leader as of :attr:`as_of`
        (:func:`~gis_town.analysis.visits.remediation_table`), total row last.
    files : list of Path
        The workbooks read.
    filled : int
        Filled rows read (accepted + rejected + exact duplicates).
    as_of : date
        Visits after it were rejected as in the future.
    """

    accepted: pd.DataFrame
    rejects: pd.DataFrame
    listed: pd.DataFrame
    villages: pd.DataFrame
    files: list[Path] = field(default_factory=list)
    filled: int = 0
    as_of: dt.date = field(default_factory=dt.date.today)

    @property
    def duplicates(self) -> int:
        """Filled rows left out as the same visit written twice (town sheet and village sheet)."""
        return self.filled - len(self.accepted) - len(self.rejects)


def as_of_date(value: str | dt.date | None) -> dt.date:
    """``value`` as a date; None: today in the town's time zone.

    Raises
    ------
    InputError
        ``value`` is not a YYYY-MM-DD date.
    """
    if value is None:
        return pd.Timestamp.now(tz=LOCAL_TZ).date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(
            f"日期格式应为 YYYY-MM-DD / --as-of expects a date YYYY-MM-DD, got {value!r}"
        ) from None


def _town_parcels(town) -> tuple[pd.DataFrame, set[str]]:
    """``parcel_id`` -> ``village_id`` of the town's farmland; ids rejected when it was read."""
    farm = town.layer("farmland")
    parcels = pd.DataFrame(
        {
            "parcel_id": farm["parcel_id"].astype("string").to_numpy(),
            "village_id": farm["village_id"].astype("string").to_numpy(),
        }
    ).drop_duplicates("parcel_id")
    problems = getattr(town, "problems", None)
    aside: set[str] = set()
    if problems is not None and len(problems) and {"layer", "feature_id"} <= set(problems.columns):
        bad = problems[(problems["layer"] == "farmland") & (problems.get("action") == "rejected")]
        aside = {str(v) for v in bad["feature_id"].dropna()}
    return parcels, aside


def _with_town_villages(df: pd.DataFrame, parcels: pd.DataFrame, villages) -> pd.DataFrame:
    """``village_id`` from the parcel, ``village_name`` and ``leader`` from the villages layer."""
    out = df.copy()
    by_id = parcels.set_index("parcel_id")["village_id"]
    town_vid = out["parcel_id"].astype("string").map(by_id)
    out["village_id"] = town_vid.fillna(out["village_id"].astype("string")).fillna("")
    if villages is not None and len(villages):
        v = pd.DataFrame(villages).drop_duplicates("village_id")
        v = v.assign(village_id=v["village_id"].astype("string")).set_index("village_id")
        for col, src in (("village_name", "name"), ("leader", "leader")):
            if src in v and col in out:
                got = out["village_id"].map(v[src].astype("string"))
                out[col] = got.fillna(out[col].astype("string")).fillna("")
    return out


def _merge_history(accepted: pd.DataFrame, earlier: pd.DataFrame | None) -> pd.DataFrame:
    """Earlier accepted visits, then the new ones; the same visit once."""
    if earlier is None or not len(earlier):
        return accepted
    from gis_town.analysis.visits import VISIT_HISTORY_COLUMNS

    old = pd.DataFrame(earlier).reindex(columns=list(VISIT_HISTORY_COLUMNS))
    both = pd.concat([old, accepted], ignore_index=True)
    for c in both.columns:
        if c in ("visit_date", "planned_date", "listed_date"):
            both[c] = pd.to_datetime(both[c], errors="coerce")
        elif c == "row":
            both[c] = pd.to_numeric(both[c], errors="coerce").astype("Int64")
        else:
            both[c] = both[c].astype("string").fillna("")
    key = ["parcel_id", "visit_date", "outcome", "planned_date", "operator", "visitor"]
    return both.drop_duplicates(key, keep="last").reset_index(drop=True)


def run_visits(
    town,
    config: TownConfig | None = None,
    *,
    paths: Sequence[str | Path],
    as_of: str | dt.date | None = None,
    history: pd.DataFrame | None = None,
) -> VisitsResult:
    """Read filled visit lists, check every row, and count the follow-up.

    Parameters
    ----------
    town : Town
        With ``farmland`` (the parcel ids); ``villages`` for names and leaders.
    config : TownConfig, optional
        Unused today (kept for the runners' common signature).
    paths : sequence of path
        Filled ``visit_list.xlsx`` workbooks or folders of them.
    as_of : date or "YYYY-MM-DD", optional
        Today (visits after it are in the future); default today.
    history : DataFrame, optional
        Earlier accepted visits (a ``visits.csv``) to keep in the history.

    Returns
    -------
    VisitsResult

    Raises
    ------
    InputError
        A workbook is missing, unreadable or no visit list; a bad ``as_of``.
    """
    from gis_town.analysis.visits import remediation_table, validate_visits
    from gis_town.io.visits import read_visit_workbooks, visit_workbook_paths

    day = as_of_date(as_of)
    files = visit_workbook_paths(paths)
    filled, listed = read_visit_workbooks(files)
    parcels, aside = _town_parcels(town)
    accepted, rejects = validate_visits(
        filled, parcels["parcel_id"], as_of=day, set_aside=aside
    )
    villages = town.layers.get("villages")
    accepted = _merge_history(_with_town_villages(accepted, parcels, villages), history)
    listed = _with_town_villages(listed.assign(village_name="", leader=""), parcels, villages)
    listed = listed[listed["parcel_id"].isin(parcels["parcel_id"])]
    listed = listed[["parcel_id", "village_id", "listed_date", "source", "sheet"]]
    table = remediation_table(accepted, as_of=day, listed=listed, villages=villages)
    log.info("visits: %d filled rows, %d accepted, %d rejected", len(filled), len(accepted),
             len(rejects))
    return VisitsResult(
        accepted=accepted,
        rejects=rejects,
        listed=listed.reset_index(drop=True),
        villages=table,
        files=files,
        filled=len(filled),
        as_of=day,
    )


def visit_history(
    config: TownConfig, visits: str | Path | None = None
) -> tuple[pd.DataFrame | None, pd.DataFrame | None, Path | None]:
    """The visit history other commands read: ``visits`` given, else ``[risk] visits``.

    Returns
    -------
    history, listed, path
        Accepted visits (``visits.csv``), the parcels listed (``listed.csv``
        beside it, None when absent) and the file read; (None, None, None)
        when no history is given or configured.

    Raises
    ------
    InputError
        The file given or configured does not exist or is not a visits.csv.
    """
    from gis_town.io.visits import read_listed_parcels, read_visit_history

    given = visits is not None
    path = Path(visits) if given else config.resolve(config.risk.visits)
    if path is None:
        return None, None, None
    if not path.is_file():
        where = "--visits" if given else "乡镇配置 the config's [risk] visits"
        raise InputError(
            f"走访记录不存在 / visit history not found ({where}): {path}: run gis-town visits "
            "first, or fix the path",
            path=str(path),
        )
    return read_visit_history(path), read_listed_parcels(path), path
