"""The ``har`` console script: the one place that mounts the training and the export commands together.

Why a package of its own: training and export never import each other
(a test walks their imports), so neither may be the root that puts both
under one ``har`` command.
"""
