"""sim.base.catalogue describes the DES's Dataset: every variable, in order, with its
dims, units and long name; the stored names of a replicate's results find their entry."""

from __future__ import annotations

import pytest
import xarray as xr

from sim.base import catalogue, names
from sim.des.builder import small_district
from sim.des.engine import run_replicate
from tests.test_report import _datamd_grades


@pytest.fixture(scope="module")
def des() -> xr.Dataset:
    return run_replicate(small_district(), 1, 1)


def test_the_catalogue_describes_every_des_variable_in_order(des: xr.Dataset) -> None:
    assert list(des.data_vars) == [v.name for v in catalogue.DES]
    for v in catalogue.DES:
        var = des[v.name]
        assert var.dims == v.dims, v.name
        assert var.attrs == {"units": v.units, "long_name": v.long_name}, v.name


def test_des_variables_carry_the_units_a_planner_reads(des: xr.Dataset) -> None:
    # written here by hand: the engine takes its attributes from the catalogue itself
    expected = {
        "bed_capacity": ("beds", "beds available"),
        "ed_boarding_mean": ("hours", None),
        "admissions": ("persons day-1", None),
        "ambulance_delay_mean_year": ("minutes", None),
        "occupancy_rate_mean": ("1", None),
        "elective_deferral_events_year": ("events", None),
    }
    for name, (units, long_name) in expected.items():
        assert des[name].attrs["units"] == units, name
        if long_name is not None:
            assert des[name].attrs["long_name"] == long_name, name
    assert des["midnight_census"].dtype == "float32" and des["p_full"].dtype == "float64"


def test_des_inputs_cite_datamd_rows() -> None:
    grades = _datamd_grades()
    for v in catalogue.DES:
        assert all(i in grades for i in v.inputs), v.name


def test_stored_names_find_their_entries() -> None:
    boarding = catalogue.variable(catalogue.DES_PREFIX + "ed_boarding_mean")
    assert boarding.units == names.UNIT_HOURS and "ED-TREATMENT" in boarding.inputs
    with pytest.raises(KeyError):
        catalogue.variable("ed_boarding_mean")  # only under its stored name
