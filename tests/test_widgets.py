"""Unit tests of chapters_src.widgets: static-site frame players and live (kernel) demos."""
from __future__ import annotations

import io

import ipywidgets
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from ipywidgets.widgets.widget_link import Link  # noqa: E402

from chapters_src import widgets  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _draw(value):
    figure, axes = plt.subplots(figsize=(2, 1.5))
    axes.plot([0, 1], [0, value])
    axes.set_title(f"value {value}")
    return figure


def _png(color="red") -> bytes:
    figure, axes = plt.subplots(figsize=(1, 1))
    axes.set_facecolor(color)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=20)
    plt.close(figure)
    return buffer.getvalue()


def _parts(player):
    """(controls box, stack) of a frame player."""
    controls, stack = player.children
    assert isinstance(controls, ipywidgets.HBox)
    assert isinstance(stack, ipywidgets.Stack)
    return controls, stack


def _links_between(source, target):
    """jslink objects (Link widgets) that join ``source`` and ``target`` in either direction."""
    found = []
    for widget in list(ipywidgets.Widget.widgets.values()):
        if isinstance(widget, Link):
            ends = {widget.source[0].model_id, widget.target[0].model_id}
            if ends == {source.model_id, target.model_id}:
                found.append(widget)
    return found


def test_frame_player_stacks_every_frame_and_slider_spans_them():
    frames = [_png("red"), "<b>an HTML frame</b>", ipywidgets.Label("a widget frame"), _draw(2)]
    player = widgets.frame_player(frames, description="frame")
    controls, stack = _parts(player)
    assert len(stack.children) == 4
    assert stack.selected_index == 0
    assert isinstance(stack.children[0], ipywidgets.Image) and bytes(stack.children[0].value).startswith(PNG_MAGIC)
    assert isinstance(stack.children[1], ipywidgets.HTML) and "an HTML frame" in stack.children[1].value
    assert isinstance(stack.children[2], ipywidgets.Label)
    assert isinstance(stack.children[3], ipywidgets.Image) and bytes(stack.children[3].value).startswith(PNG_MAGIC)
    (slider,) = controls.children
    assert isinstance(slider, ipywidgets.IntSlider)
    assert (slider.min, slider.max, slider.value) == (0, 3, 0)
    assert slider.description == "frame"
    assert widgets.FRAME_PLAYER_CLASS in player._dom_classes


def test_frame_player_closes_rendered_figures():
    before = len(plt.get_fignums())
    widgets.frame_player([_draw(1), _draw(2)])
    assert len(plt.get_fignums()) == before


def test_slider_is_jslinked_to_stack_selected_index():
    player = widgets.frame_player([_png("red"), _png("blue"), _png("green")])
    controls, stack = _parts(player)
    (slider,) = controls.children
    (link,) = _links_between(slider, stack)
    assert link.source == (slider, "value")
    assert link.target == (stack, "selected_index")
    # A jslink is a bidirectional browser-side link, not a Python observer: this is what keeps it kernel-free.
    assert link._model_name == "LinkModel"


def test_labels_give_a_selection_slider_linked_by_index():
    player = widgets.frame_player([_png(), _png("blue")], labels=["valid", "same"], description="padding")
    controls, stack = _parts(player)
    (slider,) = controls.children
    assert isinstance(slider, ipywidgets.SelectionSlider)
    assert slider._options_labels == ("valid", "same")
    assert slider.index == 0
    (link,) = _links_between(slider, stack)
    assert link.source == (slider, "index")
    assert link.target == (stack, "selected_index")


@pytest.mark.parametrize("labels", [None, ["a", "b", "c"]])
def test_play_button_is_jslinked_to_slider(labels):
    player = widgets.frame_player([_png(), _png("blue"), _png("green")], labels=labels, play=True, interval=300)
    controls, _ = _parts(player)
    play, slider = controls.children
    assert isinstance(play, ipywidgets.Play)
    assert (play.min, play.max, play.interval) == (0, 2, 300)
    (link,) = _links_between(play, slider)
    assert link.source == (play, "value")
    assert link.target == (slider, "value" if labels is None else "index")


def test_width_sets_image_layout():
    player = widgets.frame_player([_png()], width=320)
    _, stack = _parts(player)
    assert stack.children[0].layout.width == "320px"
    player = widgets.frame_player([_png()], width="50%")
    assert _parts(player)[1].children[0].layout.width == "50%"


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"frames": []}, "frames"),
        ({"frames": "not a list"}, "frames"),
        ({"frames": [42]}, r"frames\[0\]"),
        ({"frames": [b"not an image"]}, r"frames\[0\]"),
        ({"frames": [_png(), _png()], "labels": ["only one"]}, "labels"),
        ({"frames": [_png(), _png()], "labels": ["same", "same"]}, "labels"),
        ({"frames": [_png()], "labels": "a"}, "labels"),
        ({"frames": [_png()], "width": 0}, "width"),
        ({"frames": [_png()], "width": 1.5}, "width"),
        ({"frames": [_png()], "interval": 0}, "interval"),
        ({"frames": [_png()], "description": 3}, "description"),
    ],
)
def test_frame_player_validates_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        widgets.frame_player(**kwargs)


def test_figure_frames_returns_png_bytes_and_closes_figures():
    before = len(plt.get_fignums())
    frames = widgets.figure_frames(_draw, [1, 2, 3])
    assert len(frames) == 3
    assert all(isinstance(frame, bytes) and frame.startswith(PNG_MAGIC) for frame in frames)
    assert frames[0] != frames[2]
    assert len(plt.get_fignums()) == before


@pytest.mark.parametrize(
    ("draw", "values", "kwargs", "argument"),
    [
        ("not callable", [1], {}, "draw"),
        (_draw, [], {}, "values"),
        (_draw, [1], {"dpi": 0}, "dpi"),
        (lambda value: "not a figure", [1], {}, "draw"),
    ],
)
def test_figure_frames_validates_arguments(draw, values, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        widgets.figure_frames(draw, values, **kwargs)


def test_live_demo_wraps_interactive_with_a_static_page_note():
    calls = []

    def show(kernel_size=3, padding="valid"):
        calls.append((kernel_size, padding))
        return kernel_size * 2

    demo = widgets.live_demo(show, kernel_size=(1, 7, 2), padding=["valid", "same"])
    assert isinstance(demo, ipywidgets.interactive)
    note = demo.children[0]
    assert isinstance(note, ipywidgets.HTML)
    assert widgets.KERNEL_NOTE_CLASS in note.value and "needs a running kernel" in note.value
    assert 'style="display:none"' in note.value  # only the book's stylesheet shows it
    slider, dropdown = demo.kwargs_widgets
    assert isinstance(slider, ipywidgets.IntSlider) and (slider.min, slider.max, slider.step) == (1, 7, 2)
    assert slider.continuous_update is False
    assert isinstance(dropdown, ipywidgets.Dropdown)
    assert widgets.LIVE_DEMO_CLASS in demo._dom_classes
    assert isinstance(demo.children[-1], ipywidgets.Output)
    slider.value = 5  # the Python callback runs (as it would with a kernel behind the page)
    assert calls[-1] == (5, "valid")
    assert demo.result == 10


@pytest.mark.parametrize(("function", "controls", "argument"), [(None, {"x": (0, 1)}, "function"),
                                                                 (print, {}, "controls")])
def test_live_demo_validates_arguments(function, controls, argument):
    with pytest.raises(ValueError, match=argument):
        widgets.live_demo(function, **controls)
