"""Presentation layer: the figures (plots), the HTML report (report) and the page's words in
zh and en (i18n); the only layer that imports matplotlib, and it never runs the model.
"""
