from django.urls import path

from tenants.pages import help_views, shop_views, topic_views, views

urlpatterns = [
    path("", views.home, name="pages-home"),
    path("sign-in", views.sign_in, name="pages-sign-in"),
    path("sign-out", views.sign_out, name="pages-sign-out"),
    path("text-size", views.text_size, name="pages-text-size"),
    path("wechat", views.wechat_start, name="pages-wechat"),
    path("wechat/back", views.wechat_back, name="pages-wechat-back"),
    path("pass/<str:token>", views.household_pass, name="pages-pass"),
    path("shop", shop_views.shop, name="pages-shop"),
    path("shop/batches/<str:token>", shop_views.batch, name="pages-batch"),
    path("orders", shop_views.orders, name="pages-orders"),
    path("orders/<int:order_id>", shop_views.order, name="pages-order"),
    path("orders/<int:order_id>/cancel", shop_views.order_cancel, name="pages-order-cancel"),
    path("parcels", shop_views.parcels, name="pages-parcels"),
    path("points", views.points, name="pages-points"),
    path("help", help_views.help_home, name="pages-help"),
    path("help/ask", help_views.help_ask, name="pages-help-ask"),
    path("help/<int:request_id>", help_views.help_request, name="pages-help-request"),
    path("topics", topic_views.topics, name="pages-topics"),
    path("topics/new", topic_views.topic_new, name="pages-topic-new"),
    path("topics/<int:topic_id>", topic_views.topic, name="pages-topic"),
    path("activities", help_views.activities, name="pages-activities"),
]
