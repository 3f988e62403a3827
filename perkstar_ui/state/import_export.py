"""Import dialog (upload → preview → confirm with progress → summary; history and undo)
and the export button. The file itself never enters state: only its private token."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import reflex as rx

from perkstar_ui.domain.importing import ImportFileError
from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import importing, rfm, uploads
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.customer_grid import GridState
from perkstar_ui.state.guard import current_login, local, requires
from perkstar_ui.state.rfm import RfmState
from perkstar_ui.state.tiles import TilesState

SHOWN_ERRORS = 200
UPLOAD_SCRIPT = """(async () => {
  const input = document.getElementById('import-file');
  const file = input && input.files && input.files[0];
  if (!file) return {error: 'Choose a CSV file.'};
  if (file.size > %(limit)d) { input.value = ''; return {error: %(too_big)s, name: file.name}; }
  try {
    const response = await fetch('/api/imports', {method: 'POST', body: file, credentials: 'same-origin',
                                                  headers: {'Content-Type': 'text/csv'}});
    const data = await response.json();
    input.value = '';
    return {...data, name: file.name};
  } catch (error) {
    return {error: 'The upload failed: ' + error, name: file.name};
  }
})()"""


@dataclasses.dataclass
class ErrorRow:
    line: int
    reason: str


@dataclasses.dataclass
class TemplateOption:
    id: str
    name: str


class ImportState(AuthState):
    open: bool = False
    templates: list[TemplateOption] = []
    template_id: str = ""
    token: str = ""
    file_name: str = ""
    form_error: str = ""
    previewing: bool = False
    has_preview: bool = False
    to_create: int = 0
    to_update: int = 0
    unchanged: int = 0
    rejected: int = 0
    error_rows: list[ErrorRow] = []
    applying: bool = False
    progress: int = 0
    summary: str = ""
    batches: list[importing.BatchView] = []
    undo_message: str = ""

    @rx.var
    def can_confirm(self) -> bool:
        return self.has_preview and not self.applying and not self.summary and (self.to_create + self.to_update) > 0

    @rx.var
    def errors_url(self) -> str:
        return f"/api/imports/{self.token}/errors.csv?template={self.template_id}" if self.token else ""

    def _reset_file(self) -> None:
        self.token = self.file_name = self.form_error = self.summary = ""
        self.has_preview = self.applying = False
        self.to_create = self.to_update = self.unchanged = self.rejected = self.progress = 0
        self.error_rows = []

    async def _reload_lists(self, merchant_id: int) -> None:
        templates, batches = await asyncio.to_thread(
            lambda: (importing.list_templates(merchant_id), importing.list_batches(merchant_id))
        )
        self.templates = [TemplateOption(str(i), f"{name} ({kind})") for i, name, kind in templates]
        self.batches = batches

    @rx.event
    @requires(Permission.IMPORT)
    async def open_dialog(self):
        merchant_id = current_login().merchant_id
        self._reset_file()
        self.undo_message = ""
        await self._reload_lists(merchant_id)
        self.open = True
        return None

    @rx.event
    @local
    def set_open(self, value: bool):
        if not self.applying:  # closing mid-import would hide the progress, not stop it
            self.open = value

    @rx.event
    @requires(Permission.IMPORT)
    def download_template(self):
        return rx.download(url="/api/customers/import-template.csv", filename="perkstar-import-template.csv")

    @rx.event
    @requires(Permission.IMPORT)
    async def file_chosen(self, _value: str):
        if self.token and not self.summary:  # a checked file never applied: free its place
            await asyncio.to_thread(uploads.discard_upload, current_login().merchant_id, self.token)
        self._reset_file()
        script = UPLOAD_SCRIPT % {
            "limit": uploads.MAX_UPLOAD_BYTES,
            "too_big": json.dumps(uploads.TOO_LARGE_MESSAGE),
        }
        return rx.call_script(script, callback=ImportState.uploaded)

    @rx.event
    @requires(Permission.IMPORT)
    async def uploaded(self, result: dict):
        name = str(result.get("name", ""))
        if result.get("error"):
            self.form_error = str(result["error"])
            return
        if not name.lower().endswith(".csv"):
            self.form_error = "Only CSV files can be imported (save an Excel sheet as CSV first)."
            return
        self.token, self.file_name = str(result.get("token", "")), name
        async for update in self._preview():
            yield update

    @rx.event
    @requires(Permission.IMPORT)
    async def set_template(self, value: str):
        self.template_id = value if value.isdigit() else ""
        if self.token and not self.summary:
            async for update in self._preview():
                yield update

    async def _preview(self):
        """Check the file: the spinner first (the browser sees state only at a yield)."""
        merchant_id = current_login().merchant_id
        if merchant_id is None:
            return
        self.previewing = True
        yield
        try:
            result = await asyncio.to_thread(
                importing.preview, merchant_id, self.token, int(self.template_id) if self.template_id else None
            )
        except (ImportFileError, importing.ImportRefused) as refusal:
            self.form_error, self.has_preview = str(refusal), False
        else:
            self.form_error, self.has_preview = "", True
            self.to_create, self.to_update, self.unchanged = result.create, result.update, result.unchanged
            self.rejected = len(result.rejected)
            self.error_rows = [ErrorRow(r.line, r.reason) for r in result.rejected[:SHOWN_ERRORS]]
        self.previewing = False

    @rx.event
    @requires(Permission.IMPORT)
    def download_errors(self):
        if self.token:
            return rx.download(url=self.errors_url, filename="import-errors.csv")
        return None

    @rx.event(background=True)
    @requires(Permission.IMPORT)
    async def confirm(self):
        async with self:
            context = await self._login()
            if context is None or not self.can_confirm:
                return
            token, name = self.token, self.file_name
            template_id = int(self.template_id) if self.template_id else None
            self.applying, self.progress, self.form_error = True, 0, ""
        share = {"done": 0.0}
        work = asyncio.create_task(asyncio.to_thread(
            importing.apply_import, context.merchant_id, context.staff_user_id, token, name, template_id,
            lambda fraction: share.__setitem__("done", fraction),
        ))
        while not work.done():
            await asyncio.sleep(0.2)
            async with self:
                self.progress = int(share["done"] * 100)
        try:
            summary = work.result()
        except (ImportFileError, importing.ImportRefused) as refusal:
            async with self:
                self.applying, self.form_error = False, f"Nothing was imported: {refusal}"
            return
        except Exception:  # noqa: BLE001  the transaction rolled back: say so, keep the file
            async with self:
                self.applying = False
                self.form_error = "Nothing was imported: the import failed and was rolled back. Try again."
            raise
        await asyncio.to_thread(uploads.discard_upload, context.merchant_id, token)
        async with self:
            self.applying, self.progress, self.summary = False, 100, summary.text
            await self._reload_lists(context.merchant_id)
        yield TilesState.refresh
        yield GridState.load
        # rfm.md: segments are recomputed after imports (after the summary is shown).
        await asyncio.to_thread(rfm.recompute, context.merchant_id)
        yield RfmState.load

    @rx.event(background=True)
    @requires(Permission.IMPORT)
    async def recompute_segments(self):
        """Segments after an undo, in the background so the tab stays responsive."""
        async with self:
            context = await self._login()
        if context is None:
            return
        await asyncio.to_thread(rfm.recompute, context.merchant_id)
        yield RfmState.load

    @rx.event
    @requires(Permission.IMPORT)
    async def undo(self, batch_id: int):
        merchant_id = current_login().merchant_id
        try:
            report = await asyncio.to_thread(importing.undo_import, merchant_id, batch_id,
                                             staff_user_id=current_login().staff_user_id)
        except importing.ImportRefused as refusal:
            self.undo_message = str(refusal)
            return
        kept = "; ".join(f"{name} ({why})" for name, why in report.kept)
        self.undo_message = (
            f"Undone: removed {report.removed} customers, restored {report.restored}."
            + (f" Kept: {kept}." if kept else "")
        )
        await self._reload_lists(merchant_id)
        yield TilesState.refresh
        yield GridState.load
        yield ImportState.recompute_segments


# A form POST into a hidden frame: the filter travels in the body (a URL would outgrow
# proxies' limits), the answer is an attachment, and an error page never replaces the app.
EXPORT_SCRIPT = """(() => {
  let frame = document.getElementById('export-frame');
  if (!frame) {
    frame = document.createElement('iframe');
    frame.id = frame.name = 'export-frame';
    frame.style.display = 'none';
    document.body.appendChild(frame);
  }
  const form = document.createElement('form');
  form.method = 'POST';
  form.action = '/api/customers/export.csv';
  form.target = 'export-frame';
  form.style.display = 'none';
  for (const [name, value] of Object.entries(%s)) {
    const input = document.createElement('input');
    input.type = 'hidden';
    input.name = name;
    input.value = value;
    form.appendChild(input);
  }
  document.body.appendChild(form);
  form.submit();
  form.remove();
})()"""


class ExportState(AuthState):
    @rx.event
    @requires(Permission.EXPORT)
    async def export(self):
        """Everyone the grid's search and filter match (the tiles stay merchant-wide)."""
        grid = await self.get_state(GridState)
        return rx.call_script(EXPORT_SCRIPT % json.dumps({"search": grid.search, "filter": grid.filter_json}))
