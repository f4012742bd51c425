from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from ..core.errors import DomainError
from ..core.formatting import count_fr
from ..core.tokens import log_safe_key
from ..core.links import external_url, safe_next_url
from ..core.view_actions import form_page, run_form
from ..extensions import db, limiter
from . import services
from .forms import ChangePasswordForm, ForgotPasswordForm, LoginForm, ResetPasswordForm, UserCreateForm, UserEditForm
from .models import User
from .permissions import admin_required, any_role_required

bp = Blueprint("accounts", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _per_account() -> str:
    """The account an attempt names (a digest of its e-mail address): guessing one account's password from many
    addresses meets this limit, whatever the per-address one."""
    return log_safe_key("login-account", (request.form.get("email") or "").strip().lower())


ACCOUNT_LIMIT_MESSAGE = ("Trop de tentatives de connexion pour ce compte : patientez quelques minutes avant de "
                         "réessayer, ou réinitialisez votre mot de passe.")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_account_limit, key_func=_per_account, methods=["POST"], error_message=ACCOUNT_LIMIT_MESSAGE,
               deduct_when=lambda response: response.status_code != 302)  # failures only
def login():
    if current_user.is_authenticated:
        return redirect(url_for("sessions.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append("Adresse e-mail ou mot de passe incorrect.")
        else:
            _open_login_session(user, remember=form.remember.data)
            flash(f"Bienvenue {user.name or user.email}.", "success")
            return redirect(safe_next_url(request.args.get("next")) or url_for("sessions.dashboard"))
    return form_page("accounts/login.html", form)


def _open_login_session(user: User, remember: bool) -> None:
    services.start_login_session(user, user_agent=request.headers.get("User-Agent", ""), ip=request.remote_addr or "")
    db.session.commit()
    login_user(user, remember=remember)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        services.end_login_session(current_user.get_id())
        db.session.commit()
    logout_user()
    flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account", methods=["GET", "POST"])
@any_role_required
def account():
    """Mon compte: change one's password, see where one is logged in, log out everywhere."""
    form = ChangePasswordForm()
    user = current_user._get_current_object()
    ok, _ = run_form(form, lambda: services.change_password(user, form.current.data, form.password.data))
    if ok:
        _open_login_session(user, remember=False)  # the other browsers are logged out, this one stays
        flash("Mot de passe changé : vos autres sessions sont fermées.", "success")
        return redirect(url_for("accounts.account"))
    current = services.login_session_for(current_user.get_id())
    return form_page("accounts/account.html", form, sessions=services.live_login_sessions(user),
                     current_session_id=current.id if current else None)


@bp.route("/account/logout-everywhere", methods=["POST"])
@any_role_required
def logout_everywhere():
    count = services.end_login_sessions(current_user)
    db.session.commit()
    logout_user()
    flash(f"Vous êtes déconnecté partout ({count_fr(count, 'session fermée')}).", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        token = services.create_password_reset(form.email.data)
        if token:
            services.send_reset_link(form.email.data, external_url("accounts.reset_password", token=token))
            db.session.commit()
        flash("Si un compte existe pour cette adresse, un lien de réinitialisation vient d'être envoyé. "
              "Il est valable une heure et ne sert qu'une fois.", "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def reset_password(token: str):
    try:
        services.check_password_reset(token)
    except DomainError as exc:
        return render_template("errors/error.html", status=410, title="Lien invalide", message=exc.message), 410
    form = ResetPasswordForm()
    ok, _ = run_form(form, lambda: services.reset_password(token, form.password.data))
    if ok:
        flash("Votre mot de passe a été changé : connectez-vous.", "success")
        return redirect(url_for("accounts.login"))
    return form_page("accounts/reset.html", form)


@bp.route("/admin/users")
@admin_required
def users():
    rows = db.session.scalars(select(User).order_by(User.email)).all()
    return render_template("accounts/users.html", users=rows)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@admin_required
def user_new():
    form = UserCreateForm()
    ok, user = run_form(
        form, lambda: services.create_user(form.email.data, form.password.data, form.role.data, form.name.data)
    )
    if ok:
        flash(f"Compte {user.email} créé.", "success")
        return redirect(url_for("accounts.users"))
    return form_page("accounts/user_form.html", form, user=None)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def user_edit(user_id: int):
    user = db.get_or_404(User, user_id)
    form = UserEditForm(obj=user)
    ok, _ = run_form(
        form,
        lambda: services.update_user(user, name=form.name.data, role=form.role.data, active=form.active.data,
                                     actor=current_user),
    )
    if ok:
        flash("Compte mis à jour.", "success")
        return redirect(url_for("accounts.users"))
    return form_page("accounts/user_form.html", form, user=user)
