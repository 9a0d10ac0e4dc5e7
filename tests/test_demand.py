"""Demand: tables, base-year calibration, growth, reforms and the attribution of change."""

from __future__ import annotations

import importlib.util
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.base.errors import ScenarioError
from sim.base.los import LosDistribution
from sim.data import DATA_DIR, load_demographic_tables
from sim.data.service_tables import POOLS, ROUTES, load_service_tables
from sim.model import demand as dm
from sim.model.demography import project
from sim.scenario import Scenario, draw, load, load_dict

ROOT = Path(__file__).resolve().parent.parent
MED, SURG, ELDER = POOLS.index("medicine"), POOLS.index("surgery"), POOLS.index("elderly_care")
EMERG, ELECT = ROUTES.index("emergency"), ROUTES.index("elective")
AGES = np.arange(101)


def _tool() -> Any:
    spec = importlib.util.spec_from_file_location(
        "derive_demand_data", ROOT / "tools" / "derive_demand_data.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class World:
    """A resolved scenario, its projection and its calibrated demand model."""

    def __init__(self, sc: Scenario) -> None:
        self.sc = sc
        self.tables = load_service_tables()
        proj = project(sc, load_demographic_tables())
        pop = proj["population"]
        self.base = sc.demand.calibration.year
        self.mid = {
            int(y): 0.5 * (pop.sel(year=int(y) - 1).values + pop.sel(year=int(y)).values)
            for y in proj.year.values[1:]
        }
        self.births = {
            int(y): float(proj["births"].sel(year=int(y)).sum()) for y in proj.year.values
        }
        self.pop_end = float(pop.sel(year=self.base).sum())
        self.cal = dm.calibrate(
            self.mid[self.base],
            self.pop_end,
            self.births[self.base],
            self.tables,
            sc.demand,
            float(sc.capacity.beds_per_1000),
        )
        self.model = dm.DemandModel(self.tables, sc.demand, self.cal)

    def year(self, y: int, inp: dm.YearInputs | None = None) -> dm.YearDemand:
        return self.model.evaluate(
            self.mid[y], self.births[y], inp or dm.year_inputs(self.sc.demand, y)
        )


@pytest.fixture(scope="module")
def world() -> World:
    return World(draw(load_dict({"name": "central"}), 0))


# ------------------------------------------------------------------ tables
def test_shipped_tables_are_reproduced_by_the_derivation_script() -> None:
    files, info = _tool().build(DATA_DIR)
    for name, text in files.items():
        assert (DATA_DIR / name).read_text(encoding="utf-8") == text, (
            f"{name} differs from the script"
        )
    assert info["admission_rr_60_incl_maternity"] == pytest.approx(2.0, abs=1e-6)
    assert info["visit_rr_60"] == pytest.approx(1.9, abs=1e-6)


def test_unknown_pool_in_scenario_gives_one_line_error() -> None:
    with pytest.raises(ScenarioError) as info:
        load_dict({"name": "x", "capacity": {"bed_pool": {"pools": ["medicine", "cardiology"]}}})
    assert "capacity.bed_pool.pools.1 = 'cardiology': must be one of medicine, surgery" in (
        info.value.line()
    )


def test_user_table_with_bad_shares_gives_one_line_error(tmp_path: Path) -> None:
    text = (DATA_DIR / "ed_acuity.csv").read_text(encoding="utf-8").replace("0.605", "0.705", 1)
    bad = tmp_path / "acuity.csv"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_service_tables({"ed_acuity": str(bad)})
    line = str(err.value)
    assert "\n" not in line and "acuity.csv" in line and "must sum to 1" in line


def test_user_table_with_unknown_pool_gives_one_line_error(tmp_path: Path) -> None:
    text = (DATA_DIR / "los.csv").read_text(encoding="utf-8").replace("icu,", "itu,", 1)
    bad = tmp_path / "los.csv"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"row \d+, pool = 'itu': must be one of medicine"):
        load_service_tables({"los": str(bad)})


# ------------------------------------------------------------- calibration
def test_calibration_reproduces_the_base_year(world: World) -> None:
    sc, cal = world.sc, world.cal
    d = world.year(world.base)
    days = dm.days_in_year(world.base)
    assert d.visits[0] == pytest.approx(10_137_700, rel=1e-9)
    assert d.visits[0] / d.visits.sum() == pytest.approx(0.5151, rel=1e-9)
    assert cal.beds_total == pytest.approx(4.32 * world.pop_end / 1000, rel=1e-12)
    occupancy = float(sc.demand.calibration.occupancy)
    assert d.bed_days.sum() == pytest.approx(cal.beds_total * occupancy * days, rel=1e-9)
    assert d.bed_days.sum() / d.admissions.sum() == pytest.approx(
        float(sc.demand.calibration.alos_days), rel=1e-9
    )
    assert sum(cal.pool_beds.values()) == pytest.approx(cal.beds_total, rel=1e-9)
    ed_share = float(sc.demand.calibration.ed_share_of_hospital_visits)
    assert d.visits[2] / (d.visits[1] + d.visits[2]) == pytest.approx(ed_share, rel=1e-9)
    amb = float(sc.demand.calibration.ambulance_per_1000) * world.mid[world.base].sum() / 1000
    assert d.ambulance == pytest.approx(amb, rel=1e-9)
    # the implied residents' hospitalisation rate lies in the data notes' band (CAL-HOSP-RATE)
    assert 13.0 <= cal.figures["resident_admissions_per_100"] <= 19.0


def test_calibration_follows_a_replicate_s_own_draws() -> None:
    sc = draw(load_dict({"name": "drawn"}), 5)
    w = World(sc)
    d = w.year(w.base)
    occ, alos = float(sc.demand.calibration.occupancy), float(sc.demand.calibration.alos_days)
    assert occ != pytest.approx(0.825)  # really a drawn value
    assert d.bed_days.sum() == pytest.approx(w.cal.beds_total * occ * 365, rel=1e-9)
    assert d.bed_days.sum() / d.admissions.sum() == pytest.approx(alos, rel=1e-9)
    assert d.visits[0] / d.visits.sum() == pytest.approx(0.5151, rel=1e-9)


def test_impossible_calibration_is_a_scenario_error(world: World) -> None:
    with pytest.raises(ScenarioError, match="leave no admissions"):
        dm.calibrate(
            world.mid[world.base],
            world.pop_end,
            world.births[world.base],
            world.tables,
            world.sc.demand,
            beds_per_1000=0.01,
        )


# --------------------------------------------------------------- behaviour
def test_older_population_gives_more_bed_days_per_head(world: World) -> None:
    pop = world.mid[world.base]
    older = np.zeros_like(pop)
    older[:, 10:] = pop[:, :-10]  # everyone ten years older
    older[:, -1] += pop[:, -10:].sum(axis=1)
    older *= pop.sum() / older.sum()
    inp = dm.base_inputs(world.sc.demand)
    young = world.model.evaluate(pop, world.births[world.base], inp)
    old = world.model.evaluate(older, world.births[world.base], inp)
    maternity = [POOLS.index("obstetrics"), POOLS.index("neonatal")]

    def per_head(d: dm.YearDemand) -> float:
        return float(d.bed_days.sum() - d.bed_days[maternity].sum()) / float(pop.sum())

    assert per_head(old) > 1.2 * per_head(young), (
        "ten years of ageing should raise bed-days per head by > 20%"
    )
    assert old.admissions[ELDER].sum() > 3 * young.admissions[ELDER].sum()


def test_growth_compounds_from_the_base_year(world: World) -> None:
    sc = draw(
        load_dict(
            {"name": "g", "demand": {"growth": {"admissions": {"2025": 0.02, "2030": 0.02}}}}
        ),
        0,
    )
    assert dm.growth_factor(sc.demand.growth.admissions, 2025, 2030) == pytest.approx(1.02**5)
    assert dm.growth_factor(sc.demand.growth.admissions, 2025, 2023) == pytest.approx(1.02**-2)
    assert dm.growth_factor({"2026": 0.0, "2028": 0.04}, 2025, 2028) == pytest.approx(
        1.0 * 1.02 * 1.04
    )


def _inputs(world: World, year: int, **levers: float | None) -> dm.YearInputs:
    base = dm.year_inputs(world.sc.demand, year)
    return replace(base, **levers)


def test_family_doctor_avoids_its_share_of_emergency_medical_admissions_35_plus(
    world: World,
) -> None:
    off = world.year(2030, _inputs(world, 2030))
    on = world.year(2030, _inputs(world, 2030, family_doctor=0.04))
    cell = off.admissions[MED, EMERG, 35:].sum()
    assert off.admissions.sum() - on.admissions.sum() == pytest.approx(0.04 * cell, rel=1e-9)
    assert np.array_equal(on.admissions[MED, EMERG, :35], off.admissions[MED, EMERG, :35])
    assert on.bed_days[MED] < off.bed_days[MED]


def test_exercise_avoids_its_share_of_emergency_admissions_60_plus(world: World) -> None:
    off = world.year(2030, _inputs(world, 2030))
    on = world.year(2030, _inputs(world, 2030, exercise=0.02))
    cell = off.admissions[[MED, SURG], EMERG, 60:].sum()
    assert off.admissions.sum() - on.admissions.sum() == pytest.approx(0.02 * cell, rel=1e-9)
    assert np.array_equal(on.admissions[:, ELECT], off.admissions[:, ELECT])


def test_ed_diversion_moves_level_4_visits_to_community_centres(world: World) -> None:
    off = world.year(2030, _inputs(world, 2030))
    on = world.year(2030, _inputs(world, 2030, ed_diversion=0.3))
    assert on.ed_visits[3] == pytest.approx(0.7 * off.ed_visits[3], rel=1e-9)
    assert np.allclose(on.ed_visits[:3], off.ed_visits[:3])
    assert on.visits[0] - off.visits[0] == pytest.approx(on.ed_diverted, rel=1e-9)
    assert on.ed_diverted > 0


def test_chc_shift_reaches_the_target_share(world: World) -> None:
    off = world.year(2030, _inputs(world, 2030))
    on = world.year(2030, _inputs(world, 2030, chc_target_share=0.6))
    assert off.visits[0] / off.visits.sum() < 0.6
    assert on.visits[0] / on.visits.sum() == pytest.approx(0.6, rel=1e-9)
    assert on.visits_resident.sum() == pytest.approx(off.visits_resident.sum(), rel=1e-12)
    assert on.visits[1] < off.visits[1]
    # a target below the current share moves nothing
    low = world.year(2030, _inputs(world, 2030, chc_target_share=0.3))
    assert np.allclose(low.visits, off.visits) and low.chc_shifted == 0.0


def test_day_surgery_removes_its_share_and_the_documented_bed_days(world: World) -> None:
    s, f = 0.2, float(world.sc.demand.reforms.day_case_stay_fraction)
    off = world.year(2030, _inputs(world, 2030))
    on = world.year(2030, _inputs(world, 2030, day_surgery=s))
    elective = off.admissions[SURG, ELECT].sum()
    elective_bed_days = (off.admissions[SURG, ELECT] * off.los_mean[SURG, ELECT]).sum()
    assert on.admissions[SURG, ELECT].sum() == pytest.approx((1 - s) * elective, rel=1e-9)
    assert on.day_cases == pytest.approx(s * elective, rel=1e-9)
    assert off.bed_days[SURG] - on.bed_days[SURG] == pytest.approx(
        s * f * elective_bed_days, rel=1e-9
    )


def test_pre_admission_saves_its_days_per_elective_stay(world: World) -> None:
    off = world.year(2030, _inputs(world, 2030))
    on = world.year(2030, _inputs(world, 2030, pre_admission_days=1.0))
    elective = off.admissions[[MED, SURG], ELECT].sum()
    assert (off.bed_days - on.bed_days).sum() == pytest.approx(1.0 * elective, rel=1e-9)
    assert np.array_equal(on.admissions, off.admissions)
    # never more than half a stay
    huge = world.year(2030, _inputs(world, 2030, pre_admission_days=100.0))
    assert np.allclose(huge.los_mean[MED, ELECT], 0.5 * off.los_mean[MED, ELECT])


def test_elderly_care_transfers_move_the_tail_of_long_medical_stays(world: World) -> None:
    s = 0.3
    after = float(world.sc.demand.reforms.elderly_care_after_days)
    off = world.year(2030, _inputs(world, 2030))
    on = world.year(2030, _inputs(world, 2030, elderly_care_transfer=s))
    expected_moved = 0.0
    for r in range(2):
        for a in range(65, 101):
            n = off.admissions[MED, r, a]
            dist = LosDistribution(
                "lognormal", off.los_mean[MED, r, a], world.model.los_cv[MED, r, a]
            )
            expected_moved += s * n * dist.excess_mean(after)
    assert off.bed_days[MED] - on.bed_days[MED] == pytest.approx(expected_moved, rel=1e-9)
    assert on.bed_days[ELDER] - off.bed_days[ELDER] == pytest.approx(expected_moved, rel=1e-9)
    assert on.bed_days.sum() == pytest.approx(off.bed_days.sum(), rel=1e-12)
    assert 0 < on.transfers < s * off.admissions[MED, :, 65:].sum()
    components = world.model.components(on, s)
    by_pool = np.zeros(len(POOLS))
    for c in components:
        for pool, w in c.weights:
            by_pool[POOLS.index(pool)] += w * c.admissions * c.los.mean
    assert np.allclose(by_pool, on.bed_days, rtol=1e-9), (
        "components carry the bed-days of every pool"
    )


def test_more_outflow_lowers_district_activity_not_residents_use(world: World) -> None:
    inp = _inputs(world, 2030)
    flows = {**inp.flows, "admissions_outflow": inp.flows["admissions_outflow"] + 0.1}
    off = world.year(2030, inp)
    on = world.year(2030, replace(inp, flows=flows))
    assert np.allclose(on.admissions_resident, off.admissions_resident)
    ratio = (1 - flows["admissions_outflow"]) / (1 - inp.flows["admissions_outflow"])
    assert on.admissions.sum() == pytest.approx(ratio * off.admissions.sum(), rel=1e-9)


# ------------------------------------------------------------- attribution
PLAN: dict[str, Any] = {
    "name": "plan",
    "demand": {
        "reforms": {
            "chc_target_share": {"2025": 0.5151, "2030": 0.6},
            "ed_diversion": {"2025": 0, "2030": 0.3},
            "family_doctor": {"2025": 0, "2030": 0.03},
            "exercise": {"2025": 0, "2030": 0.02},
            "day_surgery": {"2025": 0, "2030": 0.2},
            "pre_admission_days": {"2025": 0, "2030": 1.0},
            "elderly_care_transfer": {"2025": 0, "2030": 0.3},
        },
        "flows": {"admissions_outflow": {"2025": 0.125, "2030": 0.08}},
    },
}


def test_attribution_parts_add_up_to_the_total_change() -> None:
    w = World(draw(load_dict(PLAN), 0))
    base_inp = dm.base_inputs(w.sc.demand)
    for year in (2026, 2030):
        inp = dm.year_inputs(w.sc.demand, year)
        parts, total = dm.attribution(
            w.model, w.mid[w.base], w.births[w.base], w.mid[year], w.births[year], base_inp, inp
        )
        assert tuple(parts) == dm.STEPS
        start = w.year(w.base, base_inp).measures()
        end = w.year(year, inp).measures()
        for field in ("visits", "admissions", "bed_days", "ambulance"):
            summed = sum(np.asarray(getattr(p, field)) for p in parts.values())
            assert np.allclose(summed, getattr(total, field), rtol=1e-10, atol=1e-6)
            assert np.allclose(
                getattr(total, field),
                np.asarray(getattr(end, field)) - np.asarray(getattr(start, field)),
                rtol=1e-10,
                atol=1e-6,
            )
        # every lever of the plan moves its own measure in the documented direction
        assert parts["day_surgery"].bed_days[SURG] < 0
        assert parts["pre_admission"].bed_days[[MED, SURG]].sum() < 0
        assert parts["family_doctor"].admissions[MED] < 0
        assert parts["exercise"].admissions[[MED, SURG]].sum() < 0
        assert parts["ed_diversion"].visits[2] < 0 < parts["ed_diversion"].visits[0]
        assert parts["chc_shift"].visits[0] > 0 > parts["chc_shift"].visits[1]
        assert (
            parts["elderly_care_integration"].bed_days[MED]
            < 0
            < parts["elderly_care_integration"].bed_days[ELDER]
        )
        assert parts["flows"].admissions.sum() > 0  # less outflow: more served locally
        assert parts["births"].visits.sum() == 0 and parts["births"].admissions[MED] == 0


def test_attribution_of_the_base_year_is_zero(world: World) -> None:
    inp = dm.base_inputs(world.sc.demand)
    parts, total = dm.attribution(
        world.model,
        world.mid[world.base],
        world.births[world.base],
        world.mid[world.base],
        world.births[world.base],
        inp,
        inp,
    )
    assert all(np.allclose(p.bed_days, 0) and np.allclose(p.visits, 0) for p in parts.values())
    assert np.allclose(total.bed_days, 0)


def test_population_size_step_is_proportional(world: World) -> None:
    inp = dm.base_inputs(world.sc.demand)
    parts, _ = dm.attribution(
        world.model,
        world.mid[world.base],
        world.births[world.base],
        world.mid[2030],
        world.births[2030],
        inp,
        dm.year_inputs(world.sc.demand, 2030),
    )
    start = world.year(world.base, inp).measures()
    growth = world.mid[2030].sum() / world.mid[world.base].sum() - 1
    non_birth = [p for p in range(len(POOLS)) if POOLS[p] not in ("obstetrics", "neonatal")]
    assert np.allclose(
        parts["population_size"].bed_days[non_birth], growth * start.bed_days[non_birth], rtol=1e-9
    )


# ---------------------------------------------------------- scenario input
@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "[demand.reforms]\ned_diversion = 0.2",
            "demand.reforms.ed_diversion = 0.2: a reform is a change after the calibration year: "
            "its value in 2025 must be 0",
        ),
        (
            "[demand.reforms]\nday_surgery = {2030 = 0.2}",
            "demand.reforms.day_surgery = {'2030': 0.2}: a reform is a change",
        ),
        (
            "[demand.reforms]\nday_surgry = 0.0",
            "demand.reforms.day_surgry = 0.0: unknown key; allowed here: chc_target_share",
        ),
        (
            "[demand]\nlos_older = 1.2",
            "demand.los_older = 1.2: unknown key; allowed here: calibration, ed_older_rr",
        ),
        (
            "[demand.calibration]\noccupancy = 1.2",
            "demand.calibration.occupancy = 1.2: must be a number from 0.3 to 1",
        ),
        (
            "[demand.growth]\nadmissions = {2025 = 0.01, 2030 = 0.5}",
            "demand.growth.admissions.2030 = 0.5: must be a number from -0.2 to 0.3",
        ),
        (
            "[demand.reforms]\nchc_target_share = 1.2",
            "demand.reforms.chc_target_share = 1.2: must be a number from 0 to 0.95",
        ),
        (
            '[demand.flows]\ned_inflow = "high"',
            "demand.flows.ed_inflow = 'high': must be a number or a distribution",
        ),
        ("[demand.maternity]\nneonatal_per_birth = {low = 0.2, high = 0.1}", "needs low <= high"),
    ],
)
def test_bad_demand_inputs_give_one_line_errors(tmp_path: Path, text: str, fragment: str) -> None:
    file = tmp_path / "bad.toml"
    file.write_text('name = "bad"\n' + text + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load(file)
    line = str(err.value)
    assert "\n" not in line
    assert line.startswith(str(file.name)) or "bad.toml" in line
    assert fragment in line


def test_reform_paths_starting_at_zero_are_accepted() -> None:
    sc = load_dict(PLAN)
    resolved = draw(sc, 0)
    assert dm.year_inputs(resolved.demand, 2030).day_surgery == pytest.approx(0.2)
    assert dm.year_inputs(resolved.demand, 2025).day_surgery == 0.0
    assert dm.year_inputs(resolved.demand, 2025).chc_target_share is None
    share_2028 = dm.year_inputs(resolved.demand, 2028).chc_target_share
    assert share_2028 is not None and math.isclose(share_2028, 0.5151 + (0.6 - 0.5151) * 3 / 5)
