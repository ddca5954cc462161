-- What a model's owners write on its card (intended use, limitations …); the rest is generated.

CREATE TABLE IF NOT EXISTS model_card_sections (
    model_id    VARCHAR NOT NULL,
    section     VARCHAR NOT NULL,               -- intended_use | limitations | …
    body        VARCHAR NOT NULL,               -- Markdown
    updated_by  VARCHAR NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
