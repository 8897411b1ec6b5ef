"""Interactive demos for the notebooks: static-site players (no kernel needed) and live JupyterLab demos.

Two kinds of demo, chosen by where the interaction has to happen:

- :func:`frame_player` shows *precomputed* frames (matplotlib figures, PNG bytes, widgets or HTML strings) in an
  ``ipywidgets.Stack``. The slider (and the optional ``Play`` button) is tied to the stack with
  ``ipywidgets.jslink``: the link lives in the browser, so the demo keeps working on the built book page, where no
  Python kernel runs. Use it whenever the parameter space is small enough to enumerate (a few to ~50 frames).
- :func:`live_demo` wraps ``ipywidgets.interactive``: a Python callback recomputes the output for any control
  value. It needs a running kernel (JupyterLab, ``make lab``). On the static book page its controls are shown but
  do nothing; a note says so. The note is hidden by an inline ``display:none`` and shown only by the book's
  stylesheet (``book/_assets/companion.css``), which JupyterLab does not load.

Example (a notebook cell)::

    from chapters_src import widgets
    frames = widgets.figure_frames(lambda k: plot_kernel(size=k), values=[1, 3, 5, 7])
    widgets.frame_player(frames, labels=["1×1", "3×3", "5×5", "7×7"], description="kernel")
"""
from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import ipywidgets

__all__ = [
    "FRAME_PLAYER_CLASS",
    "LIVE_DEMO_CLASS",
    "KERNEL_NOTE_CLASS",
    "figure_frames",
    "frame_player",
    "live_demo",
]

#: CSS class on the outer box of every frame player (the browser tests look for it).
FRAME_PLAYER_CLASS = "chapters-frame-player"
#: CSS class on the outer box of every live demo.
LIVE_DEMO_CLASS = "chapters-live-demo"
#: CSS class of the "needs a running kernel" note; only the book's stylesheet makes it visible.
KERNEL_NOTE_CLASS = "chapters-kernel-note"

_IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)
_DEFAULT_DPI = 80
_DEFAULT_INTERVAL_MS = 700


def _is_figure(obj: Any) -> bool:
    """True for a matplotlib ``Figure`` (checked lazily so importing this module does not import matplotlib)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - matplotlib is a pinned dependency
        return False
    return isinstance(obj, Figure)


def _figure_to_png(figure, dpi: int = _DEFAULT_DPI) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it (so notebooks do not also show it inline)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(figure)
    return buffer.getvalue()


def _image_format(data: bytes) -> str | None:
    for signature, name in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return name
    return None


def _css_width(width: int | str | None) -> str | None:
    if width is None:
        return None
    if isinstance(width, bool) or not isinstance(width, (int, str)):
        raise ValueError(f"width must be a positive number of pixels or a CSS length such as '60%'; got {width!r}")
    if isinstance(width, int):
        if width <= 0:
            raise ValueError(f"width must be a positive number of pixels; got {width}")
        return f"{width}px"
    if not width.strip():
        raise ValueError("width must be a positive number of pixels or a non-empty CSS length such as '60%'")
    return width.strip()


def _frame_widget(frame: Any, index: int, width: str | None) -> ipywidgets.Widget:
    """One frame as a widget: Figure/bytes → ``Image``, str → ``HTML``, widget → itself."""
    if _is_figure(frame):
        frame = _figure_to_png(frame)
    if isinstance(frame, (bytes, bytearray, memoryview)):
        data = bytes(frame)
        image_format = _image_format(data)
        if image_format is None:
            raise ValueError(f"frames[{index}] is bytes but not a PNG, JPEG or GIF image")
        layout = ipywidgets.Layout(width=width, height="auto") if width else ipywidgets.Layout()
        return ipywidgets.Image(value=data, format=image_format, layout=layout)
    if isinstance(frame, ipywidgets.Widget):
        return frame
    if isinstance(frame, str):
        return ipywidgets.HTML(value=frame)
    raise ValueError(
        f"frames[{index}] has type {type(frame).__name__}; expected a matplotlib Figure, PNG/JPEG/GIF bytes, "
        "an ipywidgets.Widget or an HTML string"
    )


def figure_frames(draw: Callable[[Any], Any], values: Iterable[Any], dpi: int = _DEFAULT_DPI) -> list[bytes]:
    """Call ``draw(value)`` for each value and return each resulting matplotlib Figure as PNG bytes.

    Every figure is closed after rendering. ``dpi`` (default 80) sets the resolution: frames are embedded in the
    HTML page, so a 6×4 inch figure at 80 dpi (480×320 px, ~20–40 kB) keeps a 20-frame player light.
    Raises ``ValueError`` if ``draw`` is not callable, ``values`` is empty, ``dpi`` is not positive or ``draw``
    returns something other than a Figure.
    """
    if not callable(draw):
        raise ValueError(f"draw must be a callable value -> matplotlib Figure; got {type(draw).__name__}")
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or dpi <= 0:
        raise ValueError(f"dpi must be a positive number; got {dpi!r}")
    values = list(values)
    if not values:
        raise ValueError("values must contain at least one value to draw")
    frames: list[bytes] = []
    for value in values:
        figure = draw(value)
        if not _is_figure(figure):
            raise ValueError(f"draw({value!r}) returned {type(figure).__name__}; it must return a matplotlib Figure")
        frames.append(_figure_to_png(figure, dpi=dpi))
    return frames


def frame_player(
    frames: Sequence[Any],
    labels: Sequence[Any] | None = None,
    description: str = "",
    play: bool = False,
    width: int | str | None = None,
    interval: int = _DEFAULT_INTERVAL_MS,
) -> ipywidgets.Widget:
    """A slider (and optional Play button) over precomputed frames; stays interactive on the static book page.

    Parameters
    ----------
    frames: one entry per frame (at least one): a matplotlib ``Figure`` (rendered to PNG at 80 dpi and closed),
        PNG/JPEG/GIF ``bytes``, an ``ipywidgets.Widget`` or an HTML string.
    labels: optional, one per frame (shown by a ``SelectionSlider``); by default an ``IntSlider`` 0..N-1.
    description: text left of the slider (e.g. the parameter name).
    play: add a ``Play`` button that steps through the frames every ``interval`` milliseconds.
    width: width of image frames, in pixels (int) or as a CSS length (``"60%"``); default: natural size.

    Returns a ``VBox([HBox([Play?, slider]), Stack])``. The slider's index is ``jslink``-ed to the stack's
    ``selected_index`` (and the Play button to the slider), so no kernel is needed to change frames.
    """
    if isinstance(frames, (str, bytes)) or not isinstance(frames, Iterable):
        raise ValueError(f"frames must be a sequence of frames; got {type(frames).__name__}")
    frames = list(frames)
    if not frames:
        raise ValueError("frames must contain at least one frame")
    if labels is not None:
        if isinstance(labels, str):
            raise ValueError("labels must be a sequence of labels, one per frame, not a single string")
        labels = [str(label) for label in labels]
        if len(labels) != len(frames):
            raise ValueError(f"labels has {len(labels)} entries but frames has {len(frames)}; give one label per frame")
        if len(set(labels)) != len(labels):
            raise ValueError("labels must be distinct (the slider shows them as its readout)")
    if not isinstance(description, str):
        raise ValueError(f"description must be a string; got {type(description).__name__}")
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 50:
        raise ValueError(f"interval must be an int number of milliseconds >= 50; got {interval!r}")
    css_width = _css_width(width)

    pages = [_frame_widget(frame, index, css_width) for index, frame in enumerate(frames)]
    stack = ipywidgets.Stack(children=pages, selected_index=0)
    stack.add_class(f"{FRAME_PLAYER_CLASS}-stack")
    last = len(pages) - 1
    slider_layout = ipywidgets.Layout(width="min(100%, 32rem)")
    style = {"description_width": "initial"}
    if labels is None:
        slider = ipywidgets.IntSlider(
            value=0, min=0, max=last, step=1, description=description, continuous_update=True,
            layout=slider_layout, style=style,
        )
        slider_index_trait = "value"
    else:
        slider = ipywidgets.SelectionSlider(
            options=list(zip(labels, range(len(labels)))), index=0, description=description,
            continuous_update=True, layout=slider_layout, style=style,
        )
        slider_index_trait = "index"  # the synced trait of a SelectionSlider is its index
    slider.add_class(f"{FRAME_PLAYER_CLASS}-slider")
    links = [ipywidgets.jslink((slider, slider_index_trait), (stack, "selected_index"))]
    controls: list[ipywidgets.Widget] = [slider]
    if play:
        player = ipywidgets.Play(value=0, min=0, max=last, step=1, interval=interval, description="play")
        links.append(ipywidgets.jslink((player, "value"), (slider, slider_index_trait)))
        controls.insert(0, player)
    box = ipywidgets.VBox([ipywidgets.HBox(controls), stack])
    box.add_class(FRAME_PLAYER_CLASS)
    # Keep references so the link widgets are not garbage collected before the notebook saves their state.
    box._chapters_links = links  # noqa: SLF001 - private attribute on our own widget instance
    box._chapters_stack = stack
    box._chapters_slider = slider
    return box


def live_demo(function: Callable[..., Any], /, **controls: Any) -> ipywidgets.Widget:
    """``ipywidgets.interactive(function, **controls)`` with the companion's layout and a static-page note.

    ``controls`` are what ``interactive`` accepts: widgets, ``(min, max[, step])`` tuples, lists of options,
    bools, or ``ipywidgets.fixed(value)``. Sliders update when released (``continuous_update=False``) so heavy
    callbacks (training a layer, convolving an image) do not queue up. The returned widget is the
    ``interactive`` object itself (``.result``, ``.kwargs`` work as usual), with a first child that says
    "this demo needs a running kernel": hidden in JupyterLab, made visible by the book's stylesheet.
    Raises ``ValueError`` if ``function`` is not callable or no controls are given.
    """
    if not callable(function):
        raise ValueError(f"function must be callable; got {type(function).__name__}")
    if not controls:
        raise ValueError("controls must name at least one control, e.g. live_demo(f, kernel_size=(1, 7, 2))")
    demo = ipywidgets.interactive(function, **controls)
    for control in demo.kwargs_widgets:
        if hasattr(control, "continuous_update"):
            control.continuous_update = False
        if hasattr(control, "style") and hasattr(control.style, "description_width"):
            control.style.description_width = "initial"
    note = ipywidgets.HTML(
        value=(
            f'<div class="{KERNEL_NOTE_CLASS}" style="display:none">'
            "<strong>This demo needs a running kernel.</strong> On this static page its controls do nothing; "
            "open the notebook in JupyterLab (<code>make lab</code>) and run the cells to use it."
            "</div>"
        )
    )
    demo.children = (note, *demo.children)
    demo.add_class(LIVE_DEMO_CLASS)
    demo.layout.border = "1px solid var(--jp-border-color2, #ddd)"
    demo.layout.padding = "0.5em"
    return demo
