"""Tool ``ask_catalogue``."""

from __future__ import annotations

from models.mcp.common import MAX_TEXT, call, clip
from models.serve.service import CatalogueService


def register(mcp, svc: CatalogueService) -> None:
    @mcp.tool()
    async def ask_catalogue(question: str, state: str | None = None) -> dict:
        """Pose une question en français à l'assistant du catalogue (« Où trouver les horaires
        des bus à Rennes ? », « Quand sont les vacances scolaires ? ») : il répond en une phrase,
        avec les jeux de données et le passage de leur description qui répond. À utiliser pour
        une question en langage naturel, et pour les suites d'une conversation (« et à Lyon ? »,
        « plutôt en CSV », « les plus récents », « autre chose ? ») : renvoyer alors tel quel le
        champ state de la réponse précédente. Si la réponse contient clarify, poser sa question à
        la personne (ou répondre avec une de ses options comme nouvelle question)."""
        out = await call(svc.ask, clip(question, MAX_TEXT), state or None)
        clarify = out["clarify"]
        return {
            "answer": out["answer"],
            "datasets": [{"id": d["id"], "title": d["title"], "producer": d["producer"], "url": d["url"],
                          "evidence": clip(d["evidence"], 300) if d["evidence"] else None}
                         for d in out["datasets"]],
            "understood": {k: v["label"] for k, v in out["slots"].items()},
            "clarify": None if not clarify else {
                "question": clarify["question"], "options": [o["label"] for o in clarify["options"]]},
            "notes": out["notes"],
            "state": out["state"],
        }
