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


def test_des_inputs_cite_datamd_rows() -> None:
    grades = _datamd_grades()
    for v in catalogue.DES:
        assert all(i in grades for i in v.inputs), v.name


def test_stored_names_find_their_entries() -> None:
    boarding = catalogue.variable(catalogue.DES_PREFIX + "ed_boarding_mean")
    assert boarding.units == names.UNIT_HOURS and "ED-TREATMENT" in boarding.inputs
    with pytest.raises(KeyError):
        catalogue.variable("ed_boarding_mean")  # only under its stored name
