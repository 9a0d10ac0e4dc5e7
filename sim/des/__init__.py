"""The discrete-event model: a frozen DesConfig of plain numbers in, an xarray Dataset out;
the SimPy reference model and the compiled engine obey sim/des/RULES.md, event for event.
"""
