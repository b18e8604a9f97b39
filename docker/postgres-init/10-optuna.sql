-- Optuna's tables live in their own database: MLflow and Optuna both keep an alembic_version table.
CREATE DATABASE optuna;
