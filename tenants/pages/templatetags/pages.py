from django import template

from tenants.shop.models import yuan as to_yuan

register = template.Library()


@register.filter
def yuan(fen: int) -> str:
    return to_yuan(int(fen or 0))
