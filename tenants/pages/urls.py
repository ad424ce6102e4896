from django.urls import path

from tenants.pages import views

urlpatterns = [
    path("", views.home, name="pages-home"),
    path("sign-in", views.sign_in, name="pages-sign-in"),
    path("sign-out", views.sign_out, name="pages-sign-out"),
    path("shop", views.shop, name="pages-shop"),
    path("shop/batches/<str:token>", views.batch, name="pages-batch"),
    path("orders", views.orders, name="pages-orders"),
    path("orders/<int:order_id>", views.order, name="pages-order"),
    path("parcels", views.parcels, name="pages-parcels"),
    path("points", views.points, name="pages-points"),
]
