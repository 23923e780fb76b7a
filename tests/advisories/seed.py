"""Public advisories and a campaign on a demo node, as CSIRT-CR would publish them (for the
browser tests and the screenshots)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from minga.accounts import service as accounts
from minga.advisories import campaigns, service
from minga.db import make_engine, make_sessionmaker, unit_of_work

PHISHING: dict[str, Any] = {
    "texts": {
        "es": {
            "title": "Ola de phishing que suplanta al Ministerio de Hacienda",
            "summary": "Desde el lunes circulan correos y SMS que dicen venir de Hacienda y "
            "anuncian una devolución de impuestos. El enlace lleva a una página falsa que roba "
            "los datos de la tarjeta.",
            "what_to_do": "No abra enlaces de mensajes que prometen devoluciones.\nEntre "
            "siempre escribiendo la dirección oficial de Hacienda.\nSi ya dio sus datos, "
            "llame a su banco de inmediato y bloquee la tarjeta.",
        },
        "pt": {
            "title": "Onda de phishing que se passa pelo Ministério da Fazenda",
            "summary": "Desde segunda-feira circulam e-mails e SMS que dizem vir da Fazenda e "
            "anunciam uma restituição de impostos. O link leva a uma página falsa que rouba "
            "os dados do cartão.",
            "what_to_do": "Não abra links de mensagens que prometem restituições.\nDigite "
            "sempre o endereço oficial.\nSe já informou seus dados, ligue para o seu banco "
            "e bloqueie o cartão.",
        },
        "en": {
            "title": "Phishing wave impersonating the Ministry of Finance",
            "summary": "Since Monday, e-mails and text messages claiming to come from the tax "
            "office announce a tax refund. The link leads to a fake page that steals card "
            "details.",
            "what_to_do": "Do not open links in messages promising refunds.\nAlways type the "
            "official address yourself.\nIf you already gave your details, call your bank "
            "and block the card.",
        },
    },
    "category": "phishing",
    "severity": "high",
    "sectors": ["citizens", "finance"],
    "references": ["https://www.hacienda.go.cr/"],
}
FORTIOS: dict[str, Any] = {
    "texts": {
        "es": {
            "title": "Vulnerabilidad crítica explotada en FortiOS SSL-VPN (CVE-2024-21762)",
            "summary": "Una escritura fuera de límites en el SSL-VPN de FortiOS permite a un "
            "atacante remoto sin autenticar ejecutar código. Se explota activamente.",
            "what_to_do": "Actualice FortiOS a una versión corregida.\nSi no puede hacerlo "
            "hoy, desactive el SSL-VPN.\nRevise los registros del equipo desde febrero.",
        },
        "pt": {
            "title": "Vulnerabilidade crítica explorada no FortiOS SSL-VPN (CVE-2024-21762)",
            "summary": "Uma escrita fora dos limites no SSL-VPN do FortiOS permite que um "
            "atacante remoto sem autenticação execute código. Está sendo explorada.",
            "what_to_do": "Atualize o FortiOS para uma versão corrigida.\nSe não puder hoje, "
            "desative o SSL-VPN.\nRevise os registros do equipamento desde fevereiro.",
        },
        "en": {
            "title": "Critical exploited vulnerability in FortiOS SSL-VPN (CVE-2024-21762)",
            "summary": "An out-of-bounds write in the FortiOS SSL-VPN lets an unauthenticated "
            "remote attacker run code. It is being actively exploited.",
            "what_to_do": "Update FortiOS to a fixed version.\nIf you cannot today, disable the "
            "SSL-VPN.\nReview the device's logs since February.",
        },
    },
    "category": "vulnerability",
    "severity": "critical",
    "sectors": ["government", "finance", "health"],
    "products": [{"vendor": "Fortinet", "product": "FortiOS", "versions": "7.4.0 to 7.4.2"}],
    "cves": ["CVE-2024-21762"],
    "references": ["https://www.fortiguard.com/psirt/FG-IR-24-015"],
}
RANSOMWARE: dict[str, Any] = {
    "texts": {
        "es": {
            "title": "Campaña de ransomware contra hospitales",
            "summary": "Un grupo de ransomware ataca hospitales de la región entrando por "
            "accesos remotos sin segundo factor.",
            "what_to_do": "Active el segundo factor en todo acceso remoto.\nTenga copias de "
            "seguridad desconectadas y pruebe que se pueden restaurar.",
        },
        "en": {
            "title": "Ransomware campaign against hospitals",
            "summary": "A ransomware group attacks hospitals in the region through remote "
            "access without a second factor.",
            "what_to_do": "Turn on a second factor for all remote access.\nKeep offline "
            "backups and test that they restore.",
        },
    },
    "category": "ransomware",
    "severity": "high",
    "sectors": ["health"],
}
CAMPAIGN_TEXTS = {
    "es": {
        "title": "Phishing en temporada de impuestos",
        "theme": "En la temporada de declaración de impuestos los delincuentes se hacen pasar "
        "por Hacienda y por los bancos. Aprenda a reconocer sus mensajes.",
        "tips": [
            "Hacienda nunca le pide su clave ni su tarjeta por correo o SMS.",
            "Escriba usted la dirección del sitio oficial.",
            "Desconfíe de la prisa: «hoy vence» es una trampa.",
        ],
    },
    "pt": {
        "title": "Phishing na época do imposto de renda",
        "theme": "Na época da declaração, criminosos se passam pela Fazenda e pelos bancos. "
        "Aprenda a reconhecer as mensagens.",
        "tips": [
            "A Fazenda nunca pede sua senha ou cartão por e-mail ou SMS.",
            "Digite você mesmo o endereço do site oficial.",
            "Desconfie da pressa: «vence hoje» é uma armadilha.",
        ],
    },
    "en": {
        "title": "Phishing in tax season",
        "theme": "In tax season criminals pretend to be the tax office and the banks. Learn "
        "to recognise their messages.",
        "tips": [
            "The tax office never asks for your password or card by e-mail or text message.",
            "Type the official site's address yourself.",
            "Distrust urgency: 'due today' is a trap.",
        ],
    },
}


def publish_examples(session: Session, prefix: str = "CSIRT-CR") -> list[str]:
    """Three advisories of CSIRT-CR (drafted by ana.rojas, published by jorge.vargas) and a
    running campaign; the ransomware one is updated once. Returns their ids."""
    analyst = accounts.principal_for(session, accounts.find_user(session, "ana.rojas"))
    coordinator = accounts.principal_for(session, accounts.find_user(session, "jorge.vargas"))
    ids = []
    for fields in (RANSOMWARE, FORTIOS, PHISHING):
        advisory = service.draft(session, analyst, fields, prefix=prefix)
        service.publish(session, coordinator, advisory.tracking_id)
        ids.append(advisory.tracking_id)
    service.update(
        session,
        coordinator,
        ids[0],
        {**RANSOMWARE, "references": ["https://www.cisa.gov/stopransomware"]},
        summary="Added a reference",
    )
    today = datetime.now(UTC).date()
    campaigns.create(
        session,
        coordinator,
        slug="phishing-impuestos",
        starts_on=today - timedelta(days=7),
        ends_on=today + timedelta(days=40),
        texts=CAMPAIGN_TEXTS,
        advisories=[ids[2]],
    )
    return ids


def seed(db_url: str) -> list[str]:
    engine = make_engine(db_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            return publish_examples(session)
    finally:
        engine.dispose()
