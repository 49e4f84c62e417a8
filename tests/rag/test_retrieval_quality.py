"""Retrieval quality on a small labelled set (Chinese and English queries → the document that
answers them): recall@k for the three strategies, printed as a table; hybrid must be at least as
good as the better of semantic and full-text."""

from __future__ import annotations

import io
import uuid

from llmops.services.knowledge import indexing_service

DOCUMENTS = {
    "coffee.txt": "Coffee beans are the roasted seeds of the Coffea plant. Espresso is brewed by forcing hot water "
                  "through finely ground coffee under pressure.",
    "volcano.txt": "A volcano erupts when molten magma rises through cracks in the crust and escapes as lava, ash and gas.",
    "bitcoin.txt": "Bitcoin is a decentralised digital currency. Transactions are recorded on a public ledger called "
                   "the blockchain and secured by proof of work mining.",
    "marathon.txt": "A marathon is a long-distance running race of 42.195 kilometres. Runners train for months to build "
                    "endurance.",
    "vaccine.txt": "Vaccines train the immune system to recognise a pathogen, so the body produces antibodies before a "
                   "real infection.",
    "panda.txt": "大熊猫生活在中国四川的竹林里，主要以竹子为食，是中国的国宝。",
    "tea.txt": "龙井茶是产于杭州西湖的绿茶，以色绿、香郁、味甘、形美著称。",
    "highspeed.txt": "中国高速铁路网络是世界上最长的，复兴号列车的最高运营时速达到三百五十公里。",
    "mooncake.txt": "中秋节人们吃月饼、赏月，象征家人团圆。",
    "silk.txt": "丝绸之路是古代连接中国与地中海地区的贸易通道，运送丝绸、瓷器和香料。",
}

QUERIES = [
    ("How is espresso made?", "coffee.txt"),
    ("coffee seeds roasted", "coffee.txt"),
    ("What comes out when a mountain explodes with lava?", "volcano.txt"),
    ("magma eruption", "volcano.txt"),
    ("Where are cryptocurrency transfers stored?", "bitcoin.txt"),
    ("blockchain proof of work", "bitcoin.txt"),
    ("How far is a marathon?", "marathon.txt"),
    ("long distance running endurance", "marathon.txt"),
    ("How do immunisations protect people?", "vaccine.txt"),
    ("antibodies pathogen", "vaccine.txt"),
    ("大熊猫吃什么？", "panda.txt"),
    ("四川竹林国宝", "panda.txt"),
    ("龙井茶产自哪里？", "tea.txt"),
    ("西湖绿茶", "tea.txt"),
    ("复兴号列车有多快？", "highspeed.txt"),
    ("高速铁路", "highspeed.txt"),
    ("中秋节吃什么？", "mooncake.txt"),
    ("月饼 团圆", "mooncake.txt"),
    ("丝绸之路运送什么货物？", "silk.txt"),
    ("古代贸易通道", "silk.txt"),
]


def recall_at(client, auth, dataset_id, strategy: str, k: int) -> float:
    found = 0
    for query, expected in QUERIES:
        body = {"query": query, "retrieval_strategy": strategy, "k": k, "score": 0}
        records = client.post(f"/datasets/{dataset_id}/hit", json=body, headers=auth).get_json()["data"]
        found += any(r["document"]["name"] == expected for r in records)
    return found / len(QUERIES)


def test_recall_at_k_per_strategy(app, client, auth, capsys):
    dataset_id = client.post("/datasets", json={"name": f"quality-{uuid.uuid4().hex[:6]}"}, headers=auth).get_json()["data"]["id"]
    ids = []
    for name, text in DOCUMENTS.items():
        response = client.post("/upload-files", data={"file": (io.BytesIO(text.encode()), name)}, headers=auth,
                               content_type="multipart/form-data")
        ids.append(response.get_json()["data"]["id"])
    documents = client.post(f"/datasets/{dataset_id}/documents", json={"upload_file_ids": ids}, headers=auth)
    with app.app_context():
        for document in documents.get_json()["data"]["documents"]:
            assert indexing_service.index_document(uuid.UUID(document["id"])) == "completed"
    table = {s: {k: recall_at(client, auth, dataset_id, s, k) for k in (1, 3)} for s in ("semantic", "full_text", "hybrid")}
    with capsys.disabled():
        print("\n| strategy | recall@1 | recall@3 |\n|---|---|---|")
        for strategy, row in table.items():
            print(f"| {strategy} | {row[1]:.2f} | {row[3]:.2f} |")
    for k in (1, 3):
        assert table["hybrid"][k] >= max(table["semantic"][k], table["full_text"][k]), table
    assert table["hybrid"][3] >= 0.9, table
