"""A screen capture of an embedded Neovim: the grid a UI would draw, and a PNG of it.

``capture`` attaches a UI to the Neovim that pynvim drives (``ext_linegrid``, RGB colours),
asks for a full redraw, applies the ``redraw`` notifications to a grid of cells that each keep
their text and highlight, then detaches. ``Screen.save_png`` draws that grid with Pillow in a
monospace font. Test support only: it imports pynvim and Pillow, nothing from codels.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

MONOSPACE_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf"),
    Path("/usr/share/fonts/truetype/noto/NotoSansMono-Regular.ttf"),
)
FONT_SIZE = 15
MARKER = "codels-screen-captured"
_markers = itertools.count(1)

# Redraw everything, then say so with a marker notification. The cursor comes from the window:
# while Lua runs, the UI's cursor is wherever the redraw left it (the mode message, say), and
# Neovim moves it back to the window only once it waits for input again.
CURSOR_AFTER_REDRAW = """
local channel, marker, number = ...
vim.cmd('redraw!')
local top, left = unpack(vim.fn.win_screenpos(0))
vim.rpcnotify(channel, marker, number)
return { top + vim.fn.winline() - 2, left + vim.fn.wincol() - 2 }
"""


@dataclass(frozen=True)
class Colours:
    """The colours a cell is drawn in, as 0xRRGGBB."""

    foreground: int
    """The text's colour."""
    background: int
    """The cell's colour behind the text."""


@dataclass
class Screen:
    """The cells of Neovim's grid 1 and the highlights they name, as the UI protocol left them."""

    width: int = 0
    """Columns of the grid."""
    height: int = 0
    """Rows of the grid."""
    cells: list[list[tuple[str, int]]] = field(default_factory=list)
    """Each row's cells: the text drawn in the cell and its highlight id (0 is the default)."""
    highlights: dict[int, dict[str, Any]] = field(default_factory=dict)
    """The RGB attributes of each highlight id (``hl_attr_define``)."""
    default_foreground: int = 0xFFFFFF
    """The default text colour (``default_colors_set``)."""
    default_background: int = 0x000000
    """The default background colour (``default_colors_set``)."""
    cursor: tuple[int, int] = (0, 0)
    """The cursor's row and column in the grid: the current window's cursor once captured."""

    def resize(self, width: int, height: int) -> None:
        """Make the grid ``width`` by ``height`` cells, keeping what fits."""
        rows = [row[:width] + [(" ", 0)] * (width - len(row)) for row in self.cells[:height]]
        rows += [[(" ", 0)] * width for _ in range(height - len(rows))]
        self.width, self.height, self.cells = width, height, rows

    def clear(self) -> None:
        """Blank every cell in the default highlight."""
        self.cells = [[(" ", 0)] * self.width for _ in range(self.height)]

    def put_line(self, row: int, column: int, cells: list[list[Any]]) -> None:
        """Apply one ``grid_line``: cells are ``[text]``, ``[text, hl]`` or ``[text, hl, n]``."""
        highlight = 0
        for cell in cells:
            if len(cell) > 1:
                highlight = int(cell[1])
            repeat = int(cell[2]) if len(cell) > 2 else 1
            for _ in range(repeat):
                if column < self.width:
                    self.cells[row][column] = (str(cell[0]), highlight)
                column += 1

    def scroll(self, top: int, bottom: int, left: int, right: int, rows: int) -> None:
        """Apply one ``grid_scroll``: move region rows up by ``rows`` (down when negative)."""
        moved = range(top, bottom - rows) if rows > 0 else range(bottom - 1, top - rows - 1, -1)
        for row in moved:
            self.cells[row][left:right] = self.cells[row + rows][left:right]

    def apply(self, name: str, args: list[Any]) -> None:
        """Apply one ``redraw`` event, given its name and one tuple of its arguments."""
        if name == "default_colors_set":
            self.default_foreground, self.default_background = int(args[0]), int(args[1])
        elif name == "hl_attr_define":
            self.highlights[int(args[0])] = dict(args[1])
        elif name == "grid_resize" and args[0] == 1:
            self.resize(int(args[1]), int(args[2]))
        elif name == "grid_clear" and args[0] == 1:
            self.clear()
        elif name == "grid_line" and args[0] == 1:
            self.put_line(int(args[1]), int(args[2]), list(args[3]))
        elif name == "grid_scroll" and args[0] == 1:
            self.scroll(int(args[1]), int(args[2]), int(args[3]), int(args[4]), int(args[5]))
        elif name == "grid_cursor_goto" and args[0] == 1:
            self.cursor = (int(args[1]), int(args[2]))

    def text(self) -> list[str]:
        """Each row of the grid as the text drawn in it, trailing blanks dropped."""
        return ["".join(text for text, _ in row).rstrip() for row in self.cells]

    def colours(self, highlight: int) -> Colours:
        """The colours cells in ``highlight`` are drawn in (reverse swaps them)."""
        attributes = self.highlights.get(highlight, {})
        foreground = int(attributes.get("foreground", self.default_foreground))
        background = int(attributes.get("background", self.default_background))
        if attributes.get("reverse"):
            foreground, background = background, foreground
        return Colours(foreground, background)

    def colours_at(self, row: int, column: int) -> Colours:
        """The colours of the cell at ``row``, ``column``."""
        return self.colours(self.cells[row][column][1])

    def find(self, fragment: str) -> tuple[int, int]:
        """The row and column where ``fragment`` is first drawn; fails when it is nowhere."""
        for row, line in enumerate(self.text()):
            if fragment in line:
                return row, line.index(fragment)
        raise AssertionError(f"{fragment!r} is not on the screen:\n" + "\n".join(self.text()))

    def save_png(self, path: Path) -> None:
        """Draw the grid, with its colours and a block cursor, to a PNG at ``path``."""
        font = monospace_font()
        _, top, _, bottom = font.getbbox("M")
        cell_width = max(1, round(font.getlength("M")))
        cell_height = max(1, round((bottom - top) * 1.6))
        size = (self.width * cell_width, self.height * cell_height)
        image = Image.new("RGB", size, rgb(self.default_background))
        draw = ImageDraw.Draw(image)
        for row, cells in enumerate(self.cells):
            for column, (text, highlight) in enumerate(cells):
                colours = self.colours(highlight)
                if (row, column) == self.cursor:
                    colours = Colours(colours.background, colours.foreground)
                x, y = column * cell_width, row * cell_height
                box = (x, y, x + cell_width - 1, y + cell_height - 1)
                draw.rectangle(box, fill=rgb(colours.background))
                if text.strip():
                    draw.text(
                        (x, y + (cell_height - (bottom - top)) // 2 - top),
                        text,
                        font=font,
                        fill=rgb(colours.foreground),
                    )
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path)


def rgb(colour: int) -> tuple[int, int, int]:
    """0xRRGGBB as an (r, g, b) tuple."""
    return (colour >> 16) & 0xFF, (colour >> 8) & 0xFF, colour & 0xFF


def monospace_font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The first monospace TTF found on the machine, or Pillow's own font when none is."""
    for candidate in MONOSPACE_FONTS:
        if candidate.is_file():
            return ImageFont.truetype(str(candidate), FONT_SIZE)
    return ImageFont.load_default(FONT_SIZE)


def capture(nvim: Any, width: int = 80, height: int = 16) -> Screen:
    """Attach a UI to ``nvim`` (a ``pynvim.Nvim``), redraw everything, read the grid, detach.

    pynvim keeps the notifications that arrive while it waits for an answer in a queue, and
    ``next_message`` hands them out in order before it waits for more. The redraw and a marker
    notification are sent in one call, so every ``redraw`` up to the marker belongs to this
    capture and nothing after it does.
    """
    screen = Screen()
    marker = next(_markers)
    nvim.ui_attach(width, height, rgb=True, ext_linegrid=True)
    try:
        cursor = nvim.exec_lua(CURSOR_AFTER_REDRAW, nvim.channel_id, MARKER, marker)
        while True:
            message = nvim.next_message()
            if message is None:
                continue
            kind, name, args = message[0], message[1], message[2]
            if kind != "notification":
                continue
            if name == MARKER and args == [marker]:
                screen.cursor = (int(cursor[0]), int(cursor[1]))
                return screen
            if name == "redraw":
                for event in args:
                    for event_args in event[1:]:
                        screen.apply(str(event[0]), list(event_args))
    finally:
        nvim.ui_detach()
