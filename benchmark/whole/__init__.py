"""The whole-mammogram stage: image-level data (``images``), the two models
(``heatmap``, ``shen``), their scores (``evaluate``) and the stage that runs them after
the patch runs (``stage``). See docs/whole-image.md."""

#: the folder of a spec's store that holds its whole-image results
WHOLE = "whole"
