"""The retail domain's errors: above all, bad data in a file handed to the importer."""

from __future__ import annotations

from core.errors import Invalid


class ImportDataError(Invalid):
    """A file of an import breaks the data contract; nothing of the import was kept.

    `file`, `row`, `column` and `value` say where: `row` is the 1-based data row (the
    header is not counted; `None` for a problem with the file or its header). `reason` is
    a stable code, the same one that `--skip-bad-rows` counts rows under.
    """

    code = "import_invalid"

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 column: str | None = None, value: object = None,
                 reason: str = "invalid") -> None:
        errors = {column: message} if column else {}
        super().__init__(message, code=self.code, errors=errors)
        self.file = file
        self.row = row
        self.column = column
        self.value = value
        self.reason = reason
