"""The whole-mammogram stage: image-level data (``images``), the scores of any registered
whole-image model (``evaluate``) and the stage that runs the spec's models on its patch
runs (``stage``); the models themselves are plugins (``register_whole_models``). See
docs/whole-image.md."""

#: the folder of a spec's store that holds its whole-image results
WHOLE = "whole"
